"""The ``mailwarden`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mailwarden.config import ConfigError

EXIT_USAGE = 2


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
    import django

    django.setup()


def _migrate(verbose: bool = False) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if verbose else 0)


# ----------------------------------------------------------------------------- commands


def cmd_migrate(args: argparse.Namespace) -> int:
    _django()
    _migrate(verbose=True)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    from mailwarden.custody.demo import seed

    result = seed(items=args.items, recipients=args.recipients, seed=args.seed)
    print(result.summary())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    return _serve(args.host, args.port, banner=None)


def cmd_demo(args: argparse.Namespace) -> int:
    # The demo's recipients are fictional: their mail goes to files, not to an SMTP server.
    os.environ.setdefault("MW_EMAIL__BACKEND", "file")
    _django()
    _migrate()
    from django.conf import settings

    from mailwarden.custody.demo import demo_logins, seed

    result = seed(items=args.items, recipients=args.recipients, seed=args.seed)
    logins = demo_logins()
    url = f"http://{args.host}:{args.port}/"
    lines = [
        "",
        "mailwarden demo",
        f"  {result.summary()}",
        f"  Console:  {url}",
        f"  API docs: {url}api/docs",
        f"  Sign in:  {logins.username} / {logins.password}   (administrator)",
        "  Other roles use the same password: " + ", ".join(name for name in logins.role_users),
        f"  E-mail to recipients is written to {settings.EMAIL_FILE_PATH}",
        "  Press Ctrl+C to stop.",
        "",
    ]
    return _serve(args.host, args.port, banner="\n".join(lines))


def _serve(host: str, port: int, banner: str | None) -> int:
    import uvicorn

    from mailwarden.core.runner import start_background_runner

    runner = start_background_runner()
    if banner:
        print(banner, flush=True)
    try:
        uvicorn.run(
            "mailwarden.server.asgi:application",
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=True,
        )
    finally:
        if runner is not None:
            runner.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from mailwarden.core.runner import run_worker

    return run_worker(burst=args.burst)


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    _django()
    from mailwarden.core import ledger

    show_progress = not args.json and sys.stderr.isatty()

    def progress(seq: int) -> None:
        print(f"\rverified {seq:,} entries", end="", file=sys.stderr, flush=True)

    result = ledger.verify(progress=progress if show_progress else None)
    if show_progress:
        print(file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "head_seq": result.head_seq,
                    "head_hash": result.head_hash,
                    "problem": None
                    if result.problem is None
                    else {
                        "seq": result.problem.seq,
                        "kind": result.problem.kind,
                        "detail": result.problem.detail,
                    },
                }
            )
        )
    elif result.ok:
        print(f"ledger OK: {result.head_seq:,} entries, head {result.head_hash}")
    else:
        print(f"ledger BROKEN at {result.problem}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_carrier_detect(args: argparse.Namespace) -> int:
    from mailwarden.custody.carriers import carrier_detect_lines

    lines = args.numbers if args.numbers else sys.stdin
    for row in carrier_detect_lines(lines):
        print(json.dumps(row), flush=True)
    return 0


def cmd_token_issue(args: argparse.Namespace) -> int:
    _django()
    from mailwarden.core import tokens
    from mailwarden.core.actor import Actor

    issued = tokens.issue(
        Actor.job("cli"), name=args.name, role=args.role, device=args.device or ""
    )
    print(issued.secret)
    print(
        f"token {issued.token.prefix} for role {issued.token.role}; "
        "store it now, it is not shown again",
        file=sys.stderr,
    )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _django()
    from mailwarden.core import tokens
    from mailwarden.core.actor import Actor

    token = tokens.revoke(Actor.job("cli"), args.prefix)
    print(f"revoked {token.prefix} ({token.name})")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    _django()
    from mailwarden.core.users import create_user

    password = args.password or os.environ.get("MW_NEW_USER_PASSWORD")
    if not password:
        import getpass

        password = getpass.getpass(f"password for {args.username}: ")
    create_user(args.username, password=password, roles=args.role, email=args.email or "")
    print(f"created {args.username} with roles {', '.join(args.role)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command

    call_command("check", deploy=args.deploy, fail_level="WARNING")
    return 0


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailwarden",
        description="Security for the mailroom: custody, screening, access and incidents.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        return p

    for name, fn, text in (
        ("serve", cmd_serve, "Run the web console, API and in-process background tasks."),
        ("demo", cmd_demo, "Seed sample data (once) and run the console with a demo login."),
    ):
        p = add(name, fn, text)
        p.add_argument("--host", default="127.0.0.1", help="address to listen on")
        p.add_argument("--port", type=int, default=8000, help="port to listen on")
        if name == "demo":
            _seed_args(p)

    add("migrate", cmd_migrate, "Create or upgrade the database schema.")
    _seed_args(add("seed-demo", cmd_seed_demo, "Seed demo data into an empty database."))
    p = add("worker", cmd_worker, "Run background tasks (outbox, notifications, reminders).")
    p.add_argument("--burst", action="store_true", help="work until the queue is empty, then exit")

    ledger = add("ledger", lambda a: _usage(a, "ledger"), "Inspect the tamper-evident ledger.")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    p = ledger_sub.add_parser("verify", help="Check every entry; exit 1 at the first bad one.")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(fn=cmd_ledger_verify)

    carrier = add("carrier", lambda a: _usage(a, "carrier"), "Tracking-number tools.")
    carrier_sub = carrier.add_subparsers(dest="carrier_command", required=True, metavar="ACTION")
    p = carrier_sub.add_parser(
        "detect",
        help="Detect carrier and type; numbers from arguments or one per line on stdin.",
    )
    p.add_argument("numbers", nargs="*", help="tracking numbers (default: read stdin)")
    p.set_defaults(fn=cmd_carrier_detect)

    token = add("token", lambda a: _usage(a, "token"), "Issue and revoke API tokens.")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    p = token_sub.add_parser("issue", help="Issue a token and print its secret once.")
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True)
    p.add_argument("--device", help="device name, for edge controllers, scanners, cameras")
    p.set_defaults(fn=cmd_token_issue)
    p = token_sub.add_parser("revoke", help="Revoke a token by its prefix.")
    p.add_argument("prefix")
    p.set_defaults(fn=cmd_token_revoke)

    user = add("user", lambda a: _usage(a, "user"), "Manage console users.")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = user_sub.add_parser("create", help="Create a user with one or more roles.")
    p.add_argument("username")
    p.add_argument("--role", action="append", required=True, help="role (repeatable)")
    p.add_argument("--email")
    p.add_argument("--password", help="default: MW_NEW_USER_PASSWORD or a prompt")
    p.set_defaults(fn=cmd_user_create)

    p = add("check", cmd_check, "Check the configuration (use --deploy for production).")
    p.add_argument("--deploy", action="store_true", help="include the production checks")
    return parser


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--items", type=int, default=200, help="items to seed (default 200)")
    p.add_argument("--recipients", type=int, default=50, help="recipients to seed (default 50)")
    p.add_argument("--seed", type=int, default=7, help="random seed for the sample data")


def _usage(args: argparse.Namespace, name: str) -> int:
    build_parser().parse_args([name, "--help"])
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        print(f"mailwarden: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from mailwarden.core.errors import ServiceError

        if isinstance(exc, ServiceError):
            where = f" ({exc.field})" if exc.field else ""
            print(f"mailwarden: {exc.message}{where}", file=sys.stderr)
            return 1
        from django.core.management.base import SystemCheckError

        if isinstance(exc, SystemCheckError):
            print(str(exc), file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
