"""Team accounts: the file is validated (naming the file and the problem), passwords are only
ever bcrypt hashes, roles gate the admin actions, and datasets stay inside the data folder."""
from __future__ import annotations

import os
from pathlib import Path

import bcrypt
import pytest
import yaml

from almea.data import DataFormatError
from annotate.accounts import (
    ADMIN,
    ADMIN_ACTIONS,
    ANNOTATOR,
    Account,
    load_team_config,
    new_team_config,
    save_team_config,
    team_config,
    with_account,
    without_account,
)
from annotate.accounts_cli import main
from annotate.datasets import dataset_folder, datasets_in


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "kgs" / "fb-db").mkdir(parents=True)
    (data / "kgs" / "fb-db" / "rel_triples_1").write_text("a\tr\tb\n")
    path = tmp_path / "accounts.yaml"
    config = with_account(new_team_config(path, data, "boss", "The Boss", "boss-password"),
                          "alice", "Alice", ANNOTATOR, "alice-password")
    save_team_config(config)
    return path


def rewrite(path: Path, change) -> None:
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw))


def test_a_saved_file_loads_back_with_hashed_passwords_only(config_file: Path) -> None:
    config = load_team_config(config_file)
    assert [(a.username, a.role) for a in config.accounts] == [("boss", ADMIN), ("alice", ANNOTATOR)]
    alice = config.account("alice")
    assert bcrypt.checkpw(b"alice-password", alice.password_hash.encode())
    assert "alice-password" not in config_file.read_text()
    assert os.stat(config_file).st_mode & 0o077 == 0        # the cookie secret is the owner's alone
    assert "password" not in repr(alice) and alice.password_hash not in repr(alice)


def test_roles_gate_exactly_the_admin_actions() -> None:
    annotator, admin = Account("a", "A", ANNOTATOR), Account("b", "B", ADMIN)
    assert all(admin.may(action) for action in ADMIN_ACTIONS)
    assert not any(annotator.may(action) for action in ADMIN_ACTIONS)
    assert annotator.may("label") and annotator.may("undo_own") and annotator.may("see_insights")


@pytest.mark.parametrize(("change", "problem"), [
    (lambda raw: raw["credentials"]["usernames"]["alice"].update(password="alice-password"), "not a bcrypt hash"),
    (lambda raw: raw["credentials"]["usernames"]["alice"].update(roles=["owner"]), "expected exactly one of"),
    (lambda raw: raw["credentials"]["usernames"]["alice"].update(roles=["admin", "annotator"]), "exactly one"),
    (lambda raw: raw["credentials"]["usernames"]["boss"].update(roles=["annotator"]), "no account has the role"),
    (lambda raw: raw["cookie"].update(key="short"), "at least 32 characters"),
    (lambda raw: raw["cookie"].update(expiry_days=0), "expiry_days"),
    (lambda raw: raw.update(data_folder="/no/such/folder"), "is not a folder"),
    (lambda raw: raw.pop("data_folder"), "data_folder"),
    (lambda raw: raw["credentials"]["usernames"].update({"Bad Name": {}}), "username 'Bad Name'"),
])
def test_an_invalid_file_names_itself_and_the_problem(config_file: Path, change, problem: str) -> None:
    rewrite(config_file, change)
    with pytest.raises(DataFormatError, match=problem) as caught:
        load_team_config(config_file)
    assert caught.value.path == config_file


def test_broken_yaml_gives_its_line(config_file: Path) -> None:
    config_file.write_text("cookie:\n  name: x\n  key: [unclosed\n")
    with pytest.raises(DataFormatError) as caught:
        load_team_config(config_file)
    assert caught.value.line is not None and caught.value.line >= 3


def test_yaml_tags_never_construct_objects(config_file: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config_file.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(DataFormatError):
        load_team_config(config_file)
    assert not marker.exists()


def test_local_mode_without_the_variable(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> None:
    monkeypatch.delenv("ALMEA_ACCOUNTS", raising=False)
    assert team_config() is None
    monkeypatch.setenv("ALMEA_ACCOUNTS", str(config_file))
    assert team_config().account("boss").role == ADMIN


def test_account_changes_keep_at_least_one_admin(config_file: Path) -> None:
    config = load_team_config(config_file)
    with pytest.raises(DataFormatError, match="no account has the role 'admin'"):
        without_account(config, "boss")
    with pytest.raises(DataFormatError, match="no account has the role 'admin'"):
        with_account(config, "boss", "The Boss", ANNOTATOR)
    promoted = with_account(config, "alice", "Alice", ADMIN)              # None keeps her password
    assert promoted.account("alice").password_hash == config.account("alice").password_hash
    assert promoted.account("alice").role == ADMIN
    with pytest.raises(ValueError, match="needs a password"):
        with_account(config, "carol", "Carol", ANNOTATOR)
    with pytest.raises(ValueError, match="at least 8 characters"):
        with_account(config, "carol", "Carol", ANNOTATOR, "short")


def test_the_cli_creates_lists_and_changes_accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    path, data = tmp_path / "team.yaml", tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ALMEA_PASSWORD", "first-admin-pass")
    assert main(["init", str(path), "--data-folder", str(data), "--admin", "lead"]) == 0
    assert main(["init", str(path), "--data-folder", str(data), "--admin", "lead"]) == 2     # never overwrites
    assert main(["add", str(path), "bob", "--name", "Bob"]) == 0
    assert main(["add", str(path), "bob", "--role", "admin", "--keep-password"]) == 0
    assert main(["remove", str(path), "lead"]) == 0
    assert main(["remove", str(path), "bob"]) == 2                      # the last admin stays
    capsys.readouterr()
    assert main(["list", str(path)]) == 0
    assert capsys.readouterr().out == "bob\tadmin\tBob\n"
    assert bcrypt.checkpw(b"first-admin-pass", load_team_config(path).account("bob").password_hash.encode())


def test_datasets_are_offered_and_opened_only_inside_the_data_folder(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for folder in ("fb-db", "dbp15k/zh_en", ".hidden", "empty"):
        (root / folder).mkdir(parents=True)
    for file in ("fb-db/ent_links", "dbp15k/zh_en/triples_1", ".hidden/secret"):
        (root / file).write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("x")
    (root / "link").symlink_to(outside)
    assert datasets_in(root) == ["dbp15k/zh_en", "fb-db"]
    assert dataset_folder(root, "dbp15k/zh_en") == (root / "dbp15k" / "zh_en").resolve()
    for escape in ("..", "../outside", "link", "/etc", "fb-db/../../outside"):
        with pytest.raises(ValueError, match="outside the data folder"):
            dataset_folder(root, escape)
    with pytest.raises(ValueError, match="is not a folder"):
        dataset_folder(root, "missing")
