"""The command line, run as a user would run it."""

import json
import os
import subprocess
import sys

import pytest

from mailwarden.cli import build_parser, main
from mailwarden.core.roles import Role

COMMANDS = [
    [],
    ["serve"],
    ["demo"],
    ["migrate"],
    ["seed-demo"],
    ["worker"],
    ["ledger"],
    ["ledger", "verify"],
    ["carrier"],
    ["carrier", "detect"],
    ["token", "issue"],
    ["token", "revoke"],
    ["user", "create"],
    ["check"],
    ["access"],
    ["access", "lockdown"],
    ["edge"],
    ["edge", "provision"],
    ["xray", "eval"],
    ["xray", "analyze"],
    ["screening", "watch"],
]


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "mailwarden")
def test_every_command_has_help(words, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*words, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mailwarden")
    assert "--help" in out


def test_carrier_detect_from_arguments(capsys):
    assert main(["carrier", "detect", "1Z5R89390357567127", "RB123456785GB", "nonsense"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["valid"] for r in rows] == [True, True, False]
    assert rows[0]["carrier"] == "ups"
    assert rows[1]["carrier"] == "s10"
    assert rows[2] == {
        "number": "nonsense",
        "valid": False,
        "carrier": None,
        "type": None,
        "reason": "it matches no carrier's format; check that it was scanned or typed in full",
    }
    assert set(rows[0]) == {"number", "valid", "carrier", "type"}


def test_carrier_detect_says_why_a_number_is_invalid(capsys):
    # The UPS number above with its last digit changed: the format fits, the check digit not.
    assert main(["carrier", "detect", "1Z5R89390357567128"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["valid"] is False
    assert "check digit" in row["reason"] and "UPS" in row["reason"]


@pytest.mark.parametrize("words", [["user", "create"], ["token", "issue"]])
def test_role_help_lists_every_role(capsys, words):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*words, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for role in Role:
        assert role.value in out


def test_edge_help_says_how_to_run_the_controller(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["edge", "--help"])
    assert "edge --config FILE" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    assert "edge --config FILE" in " ".join(capsys.readouterr().out.split())


def test_carrier_detect_reads_stdin_in_a_real_process():
    result = subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", "carrier", "detect"],
        input="1Z5R89390357567127\n\nRB123456786US\n",
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert rows[0]["valid"] is True and rows[0]["type"] == "ups"
    assert rows[1]["valid"] is False


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_command_in_a_data_folder_without_a_database_names_the_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", "ledger", "verify"],
        capture_output=True,
        text=True,
        env={**env, "MW_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "there is no mailwarden database in the data folder" in result.stderr
    assert str(tmp_path.resolve()) in result.stderr
    assert "Traceback" not in result.stderr
    # Nothing was made that a later `make demo` or `migrate` would mistake for a database.
    assert not (tmp_path / "mailwarden.sqlite3").exists()
