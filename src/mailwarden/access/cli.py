"""``mailwarden access ...``: enrol edge controllers, lock a site down and lift it.

:func:`add_access_commands` adds the ``access`` command to the ``mailwarden`` parser. Each action
sets ``fn``, which returns the exit code; service errors propagate to the ``mailwarden`` main,
which prints them as one line naming the field.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from mailwarden.core.terminal import confirmed, setup_django


def _site(code: str) -> Any:
    from mailwarden.core.errors import NotFound
    from mailwarden.directory.models import Site

    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site {code!r}", "site")
    return site


def _controller(name: str) -> Any:
    from mailwarden.access import queries

    return queries.controller_named(name)


def _print_enrolment(enrolment: Any, as_json: bool) -> None:
    controller = enrolment.controller
    if as_json:
        print(
            json.dumps(
                {
                    "controller": controller.name,
                    "site": controller.site.code,
                    "token": enrolment.token,
                    "sync_secret": enrolment.sync_secret,
                }
            )
        )
    else:
        print(f"token: {enrolment.token}")
        print(f"sync_secret: {enrolment.sync_secret}")
    print(
        f"WARNING: put controller {controller.name}'s new token and sync secret in the edge's "
        "configuration now: they are not shown again, and anyone holding them can pose as this "
        "controller.",
        file=sys.stderr,
    )


def cmd_controller_create(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.access import services
    from mailwarden.core.actor import Actor

    enrolment = services.doors.create_controller(
        Actor.job("cli"),
        name=args.name,
        site=args.site,
        fail_mode=args.fail_mode,
        offline_after_s=args.offline_after,
    )
    _print_enrolment(enrolment, args.json)
    return 0


def cmd_controller_rekey(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.access import services
    from mailwarden.core.actor import Actor

    controller = _controller(args.name)
    if not args.yes:
        question = (
            f"Re-key controller {controller.name} at {controller.site.code}? Its token and sync "
            "secret stop working at once: it cannot sync or report until its configuration "
            "holds the new pair and it restarts.\n"
            f"Type the controller's name ({controller.name}) to confirm: "
        )
        if not confirmed(question, controller.name, sys.stdin, sys.stderr):
            print(f"mailwarden: {controller.name} was not re-keyed", file=sys.stderr)
            return 1
    enrolment = services.doors.rekey_controller(
        Actor.job("cli"), controller.name, reason=args.reason
    )
    _print_enrolment(enrolment, args.json)
    return 0


def cmd_controller_config(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.access import queries

    print(json.dumps(asdict(queries.controller_config(_controller(args.name))), indent=2))
    return 0


def cmd_lockdown(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.access import services
    from mailwarden.core.actor import Actor

    site = _site(args.site)
    if not args.yes:
        question = (
            f"Lock down {site.name} ({site.code})? Every card at every door there will be "
            "refused until the lockdown is lifted; exit buttons keep working.\n"
            f"Type the site code ({site.code}) to confirm: "
        )
        if not confirmed(question, site.code, sys.stdin, sys.stderr):
            print(f"mailwarden: {site.code} was not locked down", file=sys.stderr)
            return 1
    rules = services.lockdown.lockdown_site(Actor.job("cli"), site.code, True, reason=args.reason)
    print(
        f"{site.code} is in lockdown (rules version {rules.version}); "
        f"lift it with 'mailwarden access lift {site.code}'"
    )
    return 0


def cmd_lift(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.access import services
    from mailwarden.core.actor import Actor

    site = _site(args.site)
    rules = services.lockdown.lift_lockdown(Actor.job("cli"), site.code, reason=args.reason)
    print(f"{site.code}: lockdown lifted (rules version {rules.version})")
    return 0


def add_access_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``access`` and its actions to the ``mailwarden`` command's subparsers."""
    text = "Access control: enrol edge controllers, lock a site down and lift it."
    access = subparsers.add_parser("access", help=text, description=text)
    actions = access.add_subparsers(dest="access_command", required=True, metavar="ACTION")

    controller = actions.add_parser(
        "controller", help="Edge controllers.", description="Edge controllers."
    )
    controller_actions = controller.add_subparsers(
        dest="controller_command", required=True, metavar="ACTION"
    )
    p = controller_actions.add_parser(
        "create",
        help="Enrol a controller; prints its device token and sync secret once.",
        description="Enrol an edge controller at a site. Prints its device token and its rule "
        "sync secret once; store both in the edge's configuration.",
    )
    p.add_argument("name", help="the controller's name (letters, digits, '-' and '_')")
    p.add_argument("--site", required=True, metavar="CODE", help="the site's code")
    p.add_argument(
        "--fail-mode",
        choices=("fail_secure", "fail_safe"),
        default="fail_secure",
        help="what its doors do without power or rules (default fail_secure)",
    )
    p.add_argument(
        "--offline-after",
        type=int,
        default=60,
        metavar="SECONDS",
        help="raise an alarm when it has not synced for this long (default 60)",
    )
    p.add_argument("--json", action="store_true", help="print the secrets as one JSON object")
    p.set_defaults(fn=cmd_controller_create)
    p = controller_actions.add_parser(
        "config",
        help="Print a controller's doors and readers (OSDP addresses, timings) as JSON.",
        description="Print what the edge's own configuration needs and the rules do not carry: "
        "its readers' OSDP addresses, and each door's unlock and held-open times and fail mode.",
    )
    p.add_argument("name")
    p.set_defaults(fn=cmd_controller_config)
    p = controller_actions.add_parser(
        "rekey",
        help="Replace a controller's token and sync secret (asks to confirm unless --yes).",
        description="Revoke a controller's device token and replace its rule sync secret, as "
        "after its box was lost or exposed. Prints the new pair once. Asks to confirm on a "
        "terminal; elsewhere it needs --yes.",
    )
    p.add_argument("name")
    p.add_argument("--reason", required=True, help="why, for the ledger")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p.add_argument("--json", action="store_true", help="print the secrets as one JSON object")
    p.set_defaults(fn=cmd_controller_rekey)

    p = actions.add_parser(
        "lockdown",
        help="Lock every door of a site down (asks to confirm unless --yes).",
        description="Lock every door of a site down: only a door's lockdown levels still pass. "
        "Asks to confirm on a terminal; elsewhere it needs --yes.",
    )
    p.add_argument("site", metavar="SITE", help="the site's code")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p.add_argument("--reason", default="", help="why, for the ledger")
    p.set_defaults(fn=cmd_lockdown)

    p = actions.add_parser("lift", help="Lift a site's lockdown.", description="Lift a lockdown.")
    p.add_argument("site", metavar="SITE", help="the site's code")
    p.add_argument("--reason", default="", help="why, for the ledger")
    p.set_defaults(fn=cmd_lift)
    return access
