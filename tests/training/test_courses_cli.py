"""``mailwarden training xapi`` and ``install`` as an administrator runs them."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from mailwarden.core.actor import Actor
from mailwarden.core.services import create_user
from mailwarden.training.cli import add_training_commands
from mailwarden.training.models import Course, Module
from mailwarden.training.services import courses
from mailwarden.training.xapi import problems
from tests.factories import ADMIN
from tests.training.conftest_a import right_answers

pytestmark = pytest.mark.django_db


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mailwarden")
    add_training_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.fn(args))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _passed(username: str) -> None:
    user = create_user(ADMIN, username, password="x", roles=["clerk"], check_password=False)
    actor = Actor.for_user(user)
    for module in Module.objects.filter(course__slug="access-hygiene"):
        attempt = courses.start_quiz(actor, module.pk)
        courses.submit_quiz(actor, attempt.pk, right_answers(attempt))


def test_xapi_export_to_a_file_with_a_progress_bar(tmp_path, monkeypatch) -> None:
    for name in ("ann", "ben", "cal"):
        _passed(name)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    out = tmp_path / "statements.json"
    assert run(["training", "xapi", "--out", str(out)]) == 0
    statements = json.loads(out.read_text())
    assert len(statements) == 3 and all(problems(s) == [] for s in statements)
    shown = terminal.getvalue()
    assert "[" + "#" * 30 + "] 3/3" in shown
    assert "3 xAPI statements written to" in shown
    assert run(["training", "xapi", "--out", str(out), "--since", "2999-01-01"]) == 0
    assert json.loads(out.read_text()) == []


def test_xapi_export_refuses_a_bad_date(capsys) -> None:
    with pytest.raises(SystemExit):
        run(["training", "xapi", "--out", "-", "--since", "yesterday"])
    assert "'yesterday' is not an ISO 8601 date" in capsys.readouterr().err


def test_install_is_idempotent(capsys) -> None:
    count = Course.objects.count()
    assert run(["training", "install"]) == 0
    assert "(0 added)" in capsys.readouterr().out
    assert Course.objects.count() == count
