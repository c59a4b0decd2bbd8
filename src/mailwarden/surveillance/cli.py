"""``mailwarden surveillance ...``: enrol vision workers and replace their tokens.

:func:`add_surveillance_commands` adds the command to the ``mailwarden`` parser. Each action sets
``fn``, which returns the exit code; service errors propagate to the ``mailwarden`` main, which
prints them as one line naming the field.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mailwarden.core.terminal import confirmed, setup_django


def _print_enrolment(enrolment: Any, as_json: bool) -> None:
    worker = enrolment.worker
    if as_json:
        print(
            json.dumps({"worker": worker.name, "site": worker.site.code, "token": enrolment.token})
        )
    else:
        print(f"token: {enrolment.token}")
    print(
        f"WARNING: give worker {worker.name} this token now (MW_VISION_TOKEN or --token-file): "
        "it is not shown again, and anyone holding it can report as this worker.",
        file=sys.stderr,
    )


def cmd_worker_create(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core.actor import Actor
    from mailwarden.surveillance.services import cameras

    enrolment = cameras.enrol_worker(Actor.job("cli"), name=args.name, site=args.site)
    _print_enrolment(enrolment, args.json)
    return 0


def cmd_worker_rekey(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core.actor import Actor
    from mailwarden.surveillance.services import cameras

    worker = cameras.worker_named(args.name, "name")
    if not args.yes:
        question = (
            f"Re-key vision worker {worker.name}? Its token stops working at once, and its "
            "cameras report nothing until it has the new one.\n"
            f"Type the worker's name ({worker.name}) to confirm: "
        )
        if not confirmed(question, worker.name, sys.stdin, sys.stderr):
            print(f"mailwarden: {worker.name} was not re-keyed", file=sys.stderr)
            return 1
    enrolment = cameras.rekey_worker(Actor.job("cli"), worker.name, reason=args.reason)
    _print_enrolment(enrolment, args.json)
    return 0


def add_surveillance_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``surveillance`` and its actions to the ``mailwarden`` command's subparsers."""
    text = "Surveillance: enrol vision workers and replace their tokens."
    command = subparsers.add_parser("surveillance", help=text, description=text)
    actions = command.add_subparsers(dest="surveillance_command", required=True, metavar="ACTION")
    worker = actions.add_parser("worker", help="Vision workers.", description="Vision workers.")
    worker_actions = worker.add_subparsers(dest="worker_command", required=True, metavar="ACTION")
    p = worker_actions.add_parser(
        "create",
        help="Enrol a vision worker; prints its device token once.",
        description="Enrol a `mailwarden vision run` worker at a site. Prints its device token "
        "once; give it to the worker as MW_VISION_TOKEN or in its --token-file.",
    )
    p.add_argument("name", help="the worker's name (letters, digits, '-' and '_')")
    p.add_argument("--site", required=True, metavar="CODE", help="the site's code")
    p.add_argument("--json", action="store_true", help="print the token as one JSON object")
    p.set_defaults(fn=cmd_worker_create)
    p = worker_actions.add_parser(
        "rekey",
        help="Replace a worker's token (asks to confirm unless --yes).",
        description="Revoke a vision worker's device token and issue a new one, as after its "
        "machine was lost or exposed. Prints the new token once.",
    )
    p.add_argument("name")
    p.add_argument("--reason", required=True, help="why, for the ledger")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p.add_argument("--json", action="store_true", help="print the token as one JSON object")
    p.set_defaults(fn=cmd_worker_rekey)
    return command
