"""``mailwarden edge``: run the edge controller, or give a reader its Secure Channel key.

``add_edge_commands(subparsers)`` adds the commands to the ``mailwarden`` parser. They import
nothing from Django, so an edge controller needs only the edge library and its dependencies.
Each handler returns an exit code and prints problems as one line naming the field.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import osdp as libosdp

from .channels import open_channel
from .config import EdgeConfigError, load_config, load_secrets, write_key_file
from .osdp import ProvisioningError, provision
from .private_files import replace_durably

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

ChannelOpener = Callable[[str], libosdp.Channel]


def add_edge_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``edge`` (and ``edge provision``) to a ``mailwarden`` subparsers object."""
    edge = subparsers.add_parser(
        "edge",
        help="Run the access-control edge controller: edge --config FILE (OSDP readers, doors).",
        description="Run the access-control edge controller: mailwarden edge --config FILE. "
        "It decides at the door from the last rules the server sent, and keeps every event on "
        "disk until the server has it.",
        epilog="mailwarden edge --config FILE runs the controller until it is stopped; "
        "mailwarden edge provision gives a reader its key.",
    )
    edge.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the edge controller's YAML config; with it, the controller runs",
    )
    edge.set_defaults(fn=cmd_edge)
    actions = edge.add_subparsers(dest="edge_command", metavar="ACTION")
    p = actions.add_parser(
        "provision",
        help="Give a reader in install mode a fresh Secure Channel key.",
        description="Give a reader in install mode a fresh Secure Channel key and write it to "
        "the reader's key_file (mode 0600). Stop the edge controller first: the reader's "
        "channel must be free.",
    )
    p.add_argument("--config", type=Path, required=True, help="the edge controller's YAML config")
    p.add_argument("--reader", required=True, help="the reader's id in the config")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for the reader (default 15)"
    )
    p.set_defaults(fn=cmd_edge_provision)
    return edge


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"mailwarden edge: {message}", file=sys.stderr)
    return code


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO: a line per poll would bury what the edge itself reports.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def cmd_edge(args: argparse.Namespace) -> int:
    if args.config is None:
        return _fail("--config FILE is required")
    try:
        config = load_config(args.config)
        # Before the secrets are read, so a warning about them is logged like any other.
        _setup_logging(config.log_level)
        keys = load_secrets(config)
    except EdgeConfigError as exc:
        return _fail(str(exc))
    from .process import EdgeProcess  # after the config checks: it opens the readers' channels

    try:
        process = EdgeProcess(config, keys)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot start: {exc}", EXIT_FAILED)
    return process.run()


def cmd_edge_provision(
    args: argparse.Namespace,
    *,
    channel_opener: ChannelOpener = open_channel,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    try:
        config = load_config(args.config)
        reader = config.reader(args.reader)
    except EdgeConfigError as exc:
        return _fail(str(exc))
    key_file = reader.key_file
    if not args.yes:
        replacing = " (replacing the key file there)" if key_file.exists() else ""
        print(
            f"Provision reader {reader.id} at OSDP address {reader.address} on {reader.channel}.\n"
            "The reader must be in install mode. A fresh key will be set on it and written to "
            f"{key_file}{replacing}.",
            file=stdout,
        )
        print("Continue? [y/N] ", end="", file=stdout, flush=True)
        answer = stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing was changed.", file=stdout)
            return EXIT_FAILED
    key = secrets.token_bytes(16)
    # The key is on disk before the reader gets it (a reader holding a key nobody has is lost to
    # us), but beside the old file: if this reader refuses, the old key must still be there.
    pending = key_file.with_name(key_file.name + ".new")
    try:
        write_key_file(pending, key)
    except OSError as exc:
        return _fail(f"readers: {reader.id}: cannot write {pending}: {exc.strerror}", EXIT_FAILED)
    try:
        channel = channel_opener(reader.channel)
    except (OSError, ValueError) as exc:
        pending.unlink(missing_ok=True)
        return _fail(f"reader {reader.id}: cannot open {reader.channel}: {exc}", EXIT_FAILED)
    try:
        provision(channel, reader.address, key, timeout=args.timeout)
    except ProvisioningError as exc:
        return _fail(
            f"reader {reader.id}: {exc}. The key offered is kept in {pending} in case the "
            "reader took it.",
            EXIT_FAILED,
        )
    finally:
        close = getattr(channel, "close", None)
        if close is not None:
            close()
    # The reader now holds only the new key: the old file must not come back after a power cut.
    replace_durably(pending, key_file)
    print(
        f"reader {reader.id} now uses its own Secure Channel key, stored in {key_file}", file=stdout
    )
    return EXIT_OK
