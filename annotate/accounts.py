"""Team mode: accounts with bcrypt-hashed passwords and two roles, kept in one YAML file.

The file uses streamlit-authenticator's layout (``cookie`` and ``credentials``), so its login
widget reads the accounts as they are, plus ``data_folder``: the one folder that projects may
be created from in team mode, so nobody can make the server read (and echo) a file outside it.
``$ALMEA_ACCOUNTS`` names the file; without it the app runs in local single-user mode.
Passwords are only ever stored as bcrypt hashes: a plain-text password in the file is an
error, not something hashed behind the user's back.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

import bcrypt
import yaml

from almea.atomic_write import write_atomically
from almea.data import DataFormatError

ENV = "ALMEA_ACCOUNTS"
ADMIN, ANNOTATOR = "admin", "annotator"
ROLES = (ADMIN, ANNOTATOR)
ADMIN_ACTIONS = frozenset({
    "create_project", "import_seeds", "run_oracle", "close_round", "download_exports", "launch_experiment",
    "manage_accounts",
})
"""What only an admin may do; an annotator labels, undoes their own answers and reads Insights."""
MIN_PASSWORD = 8
MIN_COOKIE_KEY = 32
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
BCRYPT_HASH = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")


@dataclass(frozen=True)
class Account:
    """One person who signs in; decisions are recorded under ``username``."""

    username: str
    name: str
    role: str
    password_hash: str = ""

    def may(self, action: str) -> bool:
        """Whether this account may do ``action`` (one of ``ADMIN_ACTIONS`` or anything else)."""
        return self.role == ADMIN or action not in ADMIN_ACTIONS

    def __repr__(self) -> str:
        return f"Account({self.username!r}, {self.name!r}, {self.role!r})"


@dataclass(frozen=True)
class TeamConfig:
    """The accounts file, validated at construction (every problem names the file)."""

    path: Path
    data_folder: Path
    accounts: tuple[Account, ...]
    cookie_name: str = "almea_session"
    cookie_key: str = ""
    cookie_expiry_days: float = 7.0

    def __post_init__(self) -> None:
        fail = lambda problem: DataFormatError(self.path, problem)  # noqa: E731
        if len(self.cookie_key) < MIN_COOKIE_KEY:
            raise fail(f"cookie.key must be a secret of at least {MIN_COOKIE_KEY} characters (it signs the "
                       "session cookies)")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.cookie_name):
            raise fail(f"cookie.name {self.cookie_name!r}: use 1-64 letters, digits, '_' or '-'")
        if not isinstance(self.cookie_expiry_days, (int, float)) or not 0 < self.cookie_expiry_days <= 365:
            raise fail(f"cookie.expiry_days must be a number of days in (0, 365], got {self.cookie_expiry_days!r}")
        if not self.data_folder.is_dir():
            raise fail(f"data_folder {str(self.data_folder)!r} is not a folder")
        for account in self.accounts:
            _check_account(self.path, account)
        if len({a.username for a in self.accounts}) != len(self.accounts):
            raise fail("a username appears twice under credentials.usernames")
        if not any(a.role == ADMIN for a in self.accounts):
            raise fail("no account has the role 'admin': nobody could create projects or manage accounts")

    def account(self, username: str | None) -> Account | None:
        """The account signed in as ``username``, if there is one."""
        return next((a for a in self.accounts if a.username == username), None)

    def credentials(self) -> dict:
        """The accounts as streamlit-authenticator's ``credentials`` (a fresh dict: it writes to it)."""
        return {"usernames": {a.username: {"name": a.name, "password": a.password_hash, "roles": [a.role]}
                              for a in self.accounts}}


def _check_account(path: Path, account: Account) -> None:
    where = f"credentials.usernames.{account.username}"
    if not USERNAME.fullmatch(account.username):
        raise DataFormatError(path, f"username {account.username!r}: use 1-64 lower-case letters, digits, '.', "
                                    "'_' or '-', starting with a letter or digit")
    if account.role not in ROLES:
        raise DataFormatError(path, f"{where}.roles: expected exactly one of {', '.join(ROLES)}, got {account.role!r}")
    if not BCRYPT_HASH.fullmatch(account.password_hash):
        raise DataFormatError(path, f"{where}.password is not a bcrypt hash; passwords are never stored in plain "
                                    "text: set it with `python -m annotate.accounts_cli add`")


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password`` (at least ``MIN_PASSWORD`` characters)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def team_config() -> TeamConfig | None:
    """The accounts file named by ``$ALMEA_ACCOUNTS``, or None (local single-user mode)."""
    path = os.environ.get(ENV)
    return load_team_config(Path(path)) if path else None


def load_team_config(path: Path) -> TeamConfig:
    """Read and validate an accounts file (``yaml.safe_load``: no object is ever constructed)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError(path, "the accounts file does not exist (create it with "
                                    "`python -m annotate.accounts_cli init`)") from None
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else None
        raise DataFormatError(path, f"not valid YAML: {err.problem}", line) from None
    if not isinstance(raw, dict):
        raise DataFormatError(path, "expected a mapping with cookie, credentials and data_folder")
    cookie, users = raw.get("cookie") or {}, (raw.get("credentials") or {}).get("usernames") or {}
    if not isinstance(cookie, dict) or not isinstance(users, dict) or "data_folder" not in raw:
        raise DataFormatError(path, "expected cookie (a mapping), credentials.usernames (a mapping) and data_folder")
    accounts = tuple(_account(path, str(username), entry) for username, entry in users.items())
    folder = Path(str(raw["data_folder"])).expanduser()
    return TeamConfig(path=path, data_folder=(path.parent / folder).resolve(), accounts=accounts,
                      cookie_name=str(cookie.get("name", "almea_session")), cookie_key=str(cookie.get("key", "")),
                      cookie_expiry_days=cookie.get("expiry_days", 7.0))


def _account(path: Path, username: str, entry: object) -> Account:
    if not isinstance(entry, dict):
        raise DataFormatError(path, f"credentials.usernames.{username} must be a mapping (name, password, roles)")
    roles = entry.get("roles") or []
    role = roles[0] if isinstance(roles, list) and len(roles) == 1 else repr(roles)
    return Account(username, str(entry.get("name") or username), str(role), str(entry.get("password") or ""))


def save_team_config(config: TeamConfig) -> None:
    """Write the accounts file at once (owner-only: it holds the cookie secret)."""
    content = {
        "cookie": {"name": config.cookie_name, "key": config.cookie_key, "expiry_days": config.cookie_expiry_days},
        "data_folder": str(config.data_folder),
        "credentials": config.credentials(),
    }
    write_atomically(config.path, yaml.safe_dump(content, sort_keys=False), mode=0o600)


def new_team_config(path: Path, data_folder: Path, admin: str, name: str, password: str) -> TeamConfig:
    """A first accounts file: one admin and a fresh random cookie secret."""
    return TeamConfig(path=path, data_folder=data_folder.resolve(), cookie_key=secrets.token_urlsafe(48),
                      accounts=(Account(admin, name, ADMIN, hash_password(password)),))


def with_account(config: TeamConfig, username: str, name: str, role: str, password: str | None = None) -> TeamConfig:
    """``config`` with the account added or replaced; ``password`` None keeps a known account's hash."""
    old = config.account(username)
    if password is None and old is None:
        raise ValueError(f"a new account ({username!r}) needs a password")
    digest = hash_password(password) if password is not None else old.password_hash
    others = tuple(a for a in config.accounts if a.username != username)
    return replace(config, accounts=(*others, Account(username, name, role, digest)))


def without_account(config: TeamConfig, username: str) -> TeamConfig:
    """``config`` without ``username`` (the last admin cannot be removed: validation refuses)."""
    if config.account(username) is None:
        raise ValueError(f"no account named {username!r}")
    return replace(config, accounts=tuple(a for a in config.accounts if a.username != username))
