"""``mailwarden access ...`` as a user runs it."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from mailwarden.access.cli import add_access_commands
from mailwarden.access.models import AccessController, SiteRules
from mailwarden.core import tokens
from mailwarden.core.errors import ServiceError
from mailwarden.edge.signing import DocumentKind, open_document
from tests.access.conftest import device


def run(argv: list[str]) -> int:
    """What ``mailwarden`` does with these words once it has the access commands."""
    parser = argparse.ArgumentParser(prog="mailwarden")
    add_access_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ServiceError as exc:
        print(f"mailwarden: {exc.message} ({exc.field})")
        return 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_every_action_has_help(capsys):
    for words in (
        ["access"],
        ["access", "controller"],
        ["access", "controller", "create"],
        ["access", "controller", "rekey"],
        ["access", "lockdown"],
        ["access", "lift"],
    ):
        with pytest.raises(SystemExit) as exit_:
            run([*words, "--help"])
        assert exit_.value.code == 0
        assert "usage: mailwarden" in capsys.readouterr().out


def test_create_a_controller_prints_its_secrets_once(mailroom, capsys):
    assert run(["access", "controller", "create", "edge-7", "--site", "hq"]) == 0
    captured = capsys.readouterr()
    lines = dict(line.split(": ", 1) for line in captured.out.strip().splitlines())
    assert set(lines) == {"token", "sync_secret"}
    assert "not shown again" in captured.err
    controller = AccessController.objects.get(name="edge-7")
    assert tokens.authenticate(lines["token"]).name == "edge-7"
    # The printed secret verifies what the server signs for this controller.
    from mailwarden.access import services

    document = services.sync.sync_rules(device(controller), controller.name, None).document
    secret = bytes.fromhex(lines["sync_secret"])
    assert open_document(document, {"edge-7": secret}, DocumentKind.SNAPSHOT)["site_id"] == "hq"


def test_create_refuses_bad_input_with_the_field(mailroom, capsys):
    assert run(["access", "controller", "create", "edge-1", "--site", "hq"]) == 1
    assert "(name)" in capsys.readouterr().out
    assert run(["access", "controller", "create", "edge-8", "--site", "nowhere"]) == 1
    assert "no site 'nowhere' (site)" in capsys.readouterr().out
    assert not AccessController.objects.filter(name="edge-8").exists()


def test_create_as_json_and_print_the_config(mailroom, capsys):
    assert run(["access", "controller", "create", "edge-9", "--site", "hq", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["controller"] == "edge-9"
    assert run(["access", "controller", "config", "edge-1"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert [r["reader_id"] for r in config["readers"]] == ["dock-in", "q-in", "q-out"]
    assert {d["door_id"] for d in config["doors"]} == {"dock", "quarantine"}
    assert "sync_secret" not in json.dumps(config)


def locked(site) -> bool:
    return SiteRules.objects.get(site=site).lockdown


def test_lockdown_without_a_terminal_needs_yes(mailroom, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("hq\n"))
    assert run(["access", "lockdown", "hq"]) == 1
    assert "--yes" in capsys.readouterr().err
    assert not locked(mailroom.site)
    assert run(["access", "lockdown", "hq", "--yes", "--reason", "drill"]) == 0
    assert "lockdown" in capsys.readouterr().out
    assert locked(mailroom.site)
    assert run(["access", "lift", "hq"]) == 0
    assert not locked(mailroom.site)
    assert run(["access", "lift", "hq"]) == 1


def test_lockdown_on_a_terminal_asks(mailroom, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", Terminal("no\n"))
    assert run(["access", "lockdown", "hq"]) == 1
    assert "Type the site code" in capsys.readouterr().err
    assert not locked(mailroom.site)
    monkeypatch.setattr("sys.stdin", Terminal("hq\n"))
    assert run(["access", "lockdown", "hq"]) == 0
    assert locked(mailroom.site)


def test_rekey_asks_on_a_terminal_and_prints_the_new_pair(mailroom, monkeypatch, capsys):
    old = mailroom.edge1.token_prefix
    monkeypatch.setattr("sys.stdin", Terminal("edge-2\n"))
    assert run(["access", "controller", "rekey", "edge-1", "--reason", "stolen"]) == 1
    assert "Type the controller's name (edge-1)" in capsys.readouterr().err
    assert tokens.authenticate(mailroom.token1) is not None
    monkeypatch.setattr("sys.stdin", Terminal("edge-1\n"))
    assert run(["access", "controller", "rekey", "edge-1", "--reason", "stolen", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert tokens.authenticate(mailroom.token1) is None
    assert tokens.authenticate(printed["token"]).name == "edge-1"
    assert AccessController.objects.get(name="edge-1").token_prefix != old


def test_rekey_without_a_terminal_needs_yes(mailroom, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("edge-1\n"))
    assert run(["access", "controller", "rekey", "edge-1", "--reason", "stolen"]) == 1
    assert "--yes" in capsys.readouterr().err
    assert tokens.authenticate(mailroom.token1) is not None
    assert run(["access", "controller", "rekey", "edge-1", "--reason", "stolen", "--yes"]) == 0
    assert tokens.authenticate(mailroom.token1) is None
    assert run(["access", "controller", "rekey", "edge-9", "--reason", "x", "--yes"]) == 1
    assert "no controller 'edge-9' (name)" in capsys.readouterr().out
