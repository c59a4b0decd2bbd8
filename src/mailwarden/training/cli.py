"""``mailwarden training ...``: export course completions as xAPI statements to a file, and
install or refresh the shipped courses.

:func:`add_training_commands` adds the command to the ``mailwarden`` parser. Each action sets
``fn``, which returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from mailwarden.core.terminal import setup_django


def _progress(done: int, total: int, out: TextIO) -> None:
    width = 30
    filled = width * done // max(1, total)
    print(
        f"\rstatements [{'#' * filled}{'-' * (width - filled)}] {done}/{total}",
        end="",
        file=out,
        flush=True,
    )


def _since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time") from None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def cmd_xapi(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.config import get_settings
    from mailwarden.training import xapi
    from mailwarden.training.queries.courses import certificates_for_export

    found = certificates_for_export(since=args.since, course=args.course)
    total = found.count()
    show = sys.stderr.isatty() and args.out != "-"
    base_url = get_settings().base_url
    statements: list[dict[str, Any]] = []
    for n, certificate in enumerate(found.iterator(chunk_size=500), start=1):
        statement = xapi.statement(certificate, base_url, args.verb)
        problems = xapi.problems(statement)
        if problems:  # pragma: no cover - a bug here, never bad input
            print(
                f"mailwarden: statement {statement['id']}: {'; '.join(problems)}", file=sys.stderr
            )
            return 1
        statements.append(statement)
        if show and (n % 50 == 0 or n == total):
            _progress(n, total, sys.stderr)
    if show and total:
        print(file=sys.stderr)
    text = json.dumps(statements, indent=2, ensure_ascii=False) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{len(statements)} xAPI statements written to {args.out}", file=sys.stderr)
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.training.services.courses import install_shipped

    added = install_shipped()
    print(f"shipped courses up to date ({added} added)")
    return 0


def add_training_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``training`` and its actions to the ``mailwarden`` command's subparsers."""
    text = "Training: export course completions as xAPI, refresh the shipped courses."
    command = subparsers.add_parser("training", help=text, description=text)
    actions = command.add_subparsers(dest="training_command", required=True, metavar="ACTION")
    p = actions.add_parser(
        "xapi",
        help="Write every course completion as xAPI 1.0.3 statements (a JSON array).",
        description="One statement per certificate, with a stable id, so a learning record "
        "store that already has one ignores it when it is sent again.",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="where to write them ('-': stdout)")
    p.add_argument("--since", type=_since, metavar="WHEN", help="only certificates issued since")
    p.add_argument("--course", metavar="SLUG", help="only this course")
    p.add_argument("--verb", choices=("passed", "completed"), default="passed")
    p.set_defaults(fn=cmd_xapi)
    p = actions.add_parser(
        "install", help="Add or refresh the shipped courses (migrate does this too)."
    )
    p.set_defaults(fn=cmd_install)
    return command
