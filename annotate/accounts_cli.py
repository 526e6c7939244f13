"""``python -m annotate.accounts_cli``: create the team's accounts file and manage its accounts.

Passwords are read with ``getpass`` (never from the command line, where ``ps`` and the shell
history would keep them) or, for scripts, from ``$ALMEA_PASSWORD``.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from annotate.accounts import (
    ANNOTATOR,
    ROLES,
    load_team_config,
    new_team_config,
    save_team_config,
    with_account,
    without_account,
)


def read_password(username: str) -> str:
    """The new password of ``username``: ``$ALMEA_PASSWORD``, else typed twice."""
    if password := os.environ.get("ALMEA_PASSWORD"):
        return password
    first = getpass.getpass(f"Password for {username}: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m annotate.accounts_cli", description=__doc__.splitlines()[0])
    commands = cli.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create the accounts file with its first admin")
    init.add_argument("file", type=Path)
    init.add_argument("--data-folder", type=Path, required=True, help="the only folder projects may come from")
    init.add_argument("--admin", required=True, help="the first admin's username")
    init.add_argument("--name", help="their display name (default: the username)")
    add = commands.add_parser("add", help="add an account, or change a known one's name, role or password")
    add.add_argument("file", type=Path)
    add.add_argument("username")
    add.add_argument("--name")
    add.add_argument("--role", choices=ROLES, default=ANNOTATOR)
    add.add_argument("--keep-password", action="store_true", help="change only the name or role")
    remove = commands.add_parser("remove", help="remove an account (its past decisions stay, under its name)")
    remove.add_argument("file", type=Path)
    remove.add_argument("username")
    listing = commands.add_parser("list", help="print the accounts and their roles")
    listing.add_argument("file", type=Path)
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "init":
            if args.file.exists():
                raise ValueError(f"{args.file} exists already: use `add` to change it")
            config = new_team_config(args.file, args.data_folder, args.admin, args.name or args.admin,
                                     read_password(args.admin))
        elif args.command == "list":
            for account in load_team_config(args.file).accounts:
                print(f"{account.username}\t{account.role}\t{account.name}")
            return 0
        elif args.command == "add":
            config = load_team_config(args.file)
            known = config.account(args.username)
            name = args.name or (known.name if known else args.username)
            password = None if args.keep_password else read_password(args.username)
            config = with_account(config, args.username, name, args.role, password)
        else:
            config = without_account(load_team_config(args.file), args.username)
    except ValueError as err:  # DataFormatError too: it names the file
        print(f"error: {err}", file=sys.stderr)
        return 2
    save_team_config(config)
    print(f"{args.file}: {len(config.accounts)} accounts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
