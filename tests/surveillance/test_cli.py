"""``mailwarden surveillance worker ...`` as an administrator runs it."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from mailwarden.core import tokens
from mailwarden.core.errors import ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.surveillance.cli import add_surveillance_commands
from mailwarden.surveillance.models import VisionWorker
from tests.factories import make_site

pytestmark = pytest.mark.django_db


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mailwarden")
    add_surveillance_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ServiceError as exc:
        print(f"mailwarden: {exc.message} ({exc.field})")
        return 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_worker_is_enrolled_and_its_token_printed_once(capsys) -> None:
    make_site()
    assert run(["surveillance", "worker", "create", "vision-1", "--site", "hq"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip().removeprefix("token: ")
    assert tokens.authenticate(token).name == "vision-1"
    assert "not shown again" in captured.err
    assert run(["surveillance", "worker", "create", "vision-1", "--site", "hq"]) == 1
    assert "exists already (name)" in capsys.readouterr().out
    assert run(["surveillance", "worker", "create", "vision-2", "--site", "nowhere"]) == 1
    assert "(site)" in capsys.readouterr().out
    assert list(VisionWorker.objects.values_list("name", flat=True)) == ["vision-1"]


def test_rekeying_revokes_the_old_token_after_confirmation(capsys, monkeypatch) -> None:
    make_site()
    assert run(["surveillance", "worker", "create", "vision-1", "--site", "hq", "--json"]) == 0
    old = json.loads(capsys.readouterr().out)["token"]
    monkeypatch.setattr("sys.stdin", io.StringIO("vision-1\n"))
    assert run(["surveillance", "worker", "rekey", "vision-1", "--reason", "laptop lost"]) == 1
    assert "--yes" in capsys.readouterr().err
    assert tokens.authenticate(old) is not None
    monkeypatch.setattr("sys.stdin", Terminal("vision-9\n"))
    assert run(["surveillance", "worker", "rekey", "vision-1", "--reason", "laptop lost"]) == 1
    assert "was not re-keyed" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", Terminal("vision-1\n"))
    assert run(["surveillance", "worker", "rekey", "vision-1", "--reason", "laptop lost"]) == 0
    new = capsys.readouterr().out.strip().removeprefix("token: ")
    assert tokens.authenticate(old) is None
    assert tokens.authenticate(new).name == "vision-1"
    worker = VisionWorker.objects.get(name="vision-1")
    assert new.startswith(f"mw_{worker.token_prefix}_")
    assert LedgerEntry.objects.filter(action="surveillance.worker.rekeyed").count() == 1


def test_rekeying_an_unknown_worker_names_it(capsys) -> None:
    assert run(["surveillance", "worker", "rekey", "ghost", "--reason", "x", "--yes"]) == 1
    assert "no vision worker named 'ghost' (name)" in capsys.readouterr().out
