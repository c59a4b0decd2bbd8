"""The ``mailwarden`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mailwarden.config import ConfigError, get_settings
from mailwarden.core.roles import Role
from mailwarden.core.terminal import setup_django

EXIT_USAGE = 2


def _migrate(verbose: bool = False) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if verbose else 0)


# ----------------------------------------------------------------------------- commands


def cmd_migrate(args: argparse.Namespace) -> int:
    setup_django(needs_database=False)
    _migrate(verbose=True)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    setup_django(needs_database=False)
    _migrate()
    from mailwarden.core.demo import seed

    result = seed(
        items=args.items, recipients=args.recipients, seed=args.seed, progress=_SeedProgress()
    )
    print(result.summary())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    setup_django(needs_database=False)
    _migrate()
    return _serve(args.host, args.port, banner=None, workers=args.workers)


def cmd_demo(args: argparse.Namespace) -> int:
    # The demo's recipients are fictional: their mail goes to files, not to an SMTP server.
    os.environ.setdefault("MW_EMAIL__BACKEND", "file")
    setup_django(needs_database=False)
    _migrate()
    from mailwarden.core import demo

    # Every installed app seeds its part, adds its lines to the banner and starts what it runs
    # beside the server (the simulated door controller, which reaches it over HTTP once it
    # listens).
    result = demo.seed(
        items=args.items, recipients=args.recipients, seed=args.seed, progress=_SeedProgress()
    )
    if args.seed_only:
        print(result.summary())
        return 0
    url = f"http://{args.host}:{args.port}/"
    lines = [
        "",
        "mailwarden demo",
        f"  {result.summary()}",
        f"  Console:  {url}",
        f"  API docs: {url}api/docs",
        *demo.banner(url),
        "  Press Ctrl+C to stop.",
        "",
    ]
    live = demo.start_live(args.host, args.port, result.options)
    try:
        return _serve(args.host, args.port, banner="\n".join(lines))
    finally:
        for process in live:
            process.stop()


class _SeedProgress:
    """One line per app on stderr as the demo is seeded, so a first start never looks stuck."""

    def __init__(self) -> None:
        self.first = True

    def started(self, label: str) -> None:
        if self.first:
            print("Seeding the demo data:", file=sys.stderr, flush=True)
            self.first = False
        print(f"  {label}…", end="", file=sys.stderr, flush=True)

    def finished(self, label: str, part: str, seconds: float) -> None:
        print(f" {seconds:.1f} s", file=sys.stderr, flush=True)


def _serve(host: str, port: int, banner: str | None, workers: int = 1) -> int:
    import uvicorn

    from mailwarden.core import checkpoints
    from mailwarden.core.runner import proxy_options

    # In development the ledger's checkpoint key is made at first start (docs/ledger.md).
    checkpoints.key_problem()
    if workers > 1:
        _share_metrics()
    if banner:
        print(banner, flush=True)
    # Each process runs the background runner from the app's lifespan (server/asgi.py), and a
    # lease in the database lets one of them work at a time.
    uvicorn.run(
        "mailwarden.server.asgi:application",
        host=host,
        port=port,
        workers=workers,
        lifespan="on",
        log_level="warning",
        **proxy_options(),
    )
    return 0


def _share_metrics() -> None:
    """Let the server processes add up their request metrics, whichever answers a scrape."""
    import shutil

    from django.conf import settings

    from mailwarden.server.metrics import MULTIPROCESS_ENV

    folder = settings.DATA_DIR / "run" / "metrics"
    # The figures of an earlier run would count again.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


def cmd_worker(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core.runner import run_worker

    return run_worker(burst=args.burst)


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core import ledger
    from mailwarden.core.actor import Actor

    show_progress = not args.json and sys.stderr.isatty()

    def progress(seq: int) -> None:
        print(f"\rverified {seq:,} entries", end="", file=sys.stderr, flush=True)

    jobs = args.jobs or ledger.default_jobs()
    result = ledger.verify_and_report(
        "cli", Actor.job("cli"), progress=progress if show_progress else None, jobs=jobs
    )
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
                    "checkpoints": result.checkpoints,
                    "checkpoint_size": result.checkpoint_size,
                    "consistent": result.consistent,
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
        if result.checkpoint_size is None:
            print("no signed checkpoint yet: run mailwarden ledger checkpoint")
        else:
            print(
                f"matches the signed checkpoint of {result.checkpoint_size:,} entries; "
                f"{result.consistent} older checkpoint(s) proved consistent with it"
            )
    else:
        print(f"ledger BROKEN at {result.problem}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_ledger_checkpoint(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core import checkpoints
    from mailwarden.core.actor import Actor

    try:
        written = checkpoints.write(Actor.job("cli"))
    except checkpoints.CheckpointRefused as exc:
        print(f"mailwarden: checkpoint refused: {exc}", file=sys.stderr)
        return 1
    size = written.checkpoint.size
    if written.new:
        print(f"checkpoint of {size:,} entries written to {written.path}")
    else:
        print(f"no new entries since the checkpoint of {size:,} entries ({written.path})")
    return 0


def cmd_ledger_public_key(args: argparse.Namespace) -> int:
    from mailwarden.core.signednote import NoteError, load_signer

    settings = get_settings()
    path = settings.ledger_key_path()
    if not path.exists() and settings.env != "production":
        setup_django(needs_database=False)  # the development key is created on first use
        from mailwarden.core import checkpoints

        checkpoints.signer()
    try:
        print(load_signer(path).verifier.encode())
    except NoteError as exc:
        print(f"mailwarden: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_ledger_generate_key(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mailwarden.core.signednote import NoteError, create_key_file

    try:
        signer = create_key_file(Path(args.file), args.name)
    except FileExistsError:
        print(f"mailwarden: {args.file} exists; a ledger key is never replaced", file=sys.stderr)
        return 1
    except NoteError as exc:
        print(f"mailwarden: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(signer.verifier.encode())
    return 0


def cmd_ledger_check_receipt(args: argparse.Namespace) -> int:
    # Offline and without Django: a court or an auditor checks one item's receipt alone.
    from mailwarden.core import receipts

    verdict = receipts.check_file(args.file, args.key)
    for line in verdict.lines:
        print(line)
    if verdict.ok:
        print(f"RECEIPT VALID: {verdict.summary}")
        return 0
    print(f"RECEIPT INVALID: {verdict.summary}", file=sys.stderr)
    return 1


def cmd_retention_run(args: argparse.Namespace) -> int:
    """Run every retention job once now (docs/retention.md); --dry-run only lists."""
    setup_django()
    from mailwarden.access.retention import purge_events
    from mailwarden.core import clock
    from mailwarden.custody.retention import purge_content
    from mailwarden.directory.retention import anonymise_departed
    from mailwarden.screening.retention import purge_images

    now = clock.now()
    verb = "would purge" if args.dry_run else "purged"
    for job in (purge_content, purge_images, purge_events, anonymise_departed):
        run = job(now, dry_run=args.dry_run)
        print(f"{run.job}: {verb} {len(run.subjects)}, files deleted {len(run.files)}")
        for line in run.subjects:
            print(f"  {line}")
    return 0


def cmd_carrier_detect(args: argparse.Namespace) -> int:
    from mailwarden.custody.carriers import carrier_detect_lines

    lines = args.numbers if args.numbers else sys.stdin
    for row in carrier_detect_lines(lines):
        print(json.dumps(row), flush=True)
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from mailwarden.contracts import events

    if args.markdown:
        sys.stdout.write(events.markdown())
        return 0
    for topic, model in sorted(events.CATALOGUE.items()):
        print(f"{topic}\t{model.__name__}")
    return 0


def cmd_token_issue(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core import services
    from mailwarden.core.actor import Actor

    issued = services.issue_token(
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
    setup_django()
    from mailwarden.core import services
    from mailwarden.core.actor import Actor

    token = services.revoke_token(Actor.job("cli"), args.prefix)
    print(f"revoked {token.prefix} ({token.name})")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core import services
    from mailwarden.core.actor import Actor

    password = args.password or os.environ.get("MW_NEW_USER_PASSWORD")
    if not password:
        import getpass

        password = getpass.getpass(f"password for {args.username}: ")
    services.create_user(
        Actor.job("cli"), args.username, password=password, roles=args.role, email=args.email or ""
    )
    print(f"created {args.username} with roles {', '.join(args.role)}")
    return 0


def _byte_progress(label: str) -> Callable[[str, int, int], None] | None:
    """A bar on stderr while it is a terminal; nothing otherwise (logs, cron, pipes)."""
    if not sys.stderr.isatty():
        return None
    from mailwarden.core.backup.progress import Bar

    return Bar(label, sys.stderr)


def cmd_backup(args: argparse.Namespace) -> int:
    setup_django()
    from mailwarden.core import clock
    from mailwarden.core.backup import create, schedule, secrets, targets
    from mailwarden.core.backup.errors import BackupError

    settings = get_settings()
    try:
        if args.prune:
            where = args.to or settings.backup.to
            if not where:
                print("mailwarden: give --to or set backup.to to prune", file=sys.stderr)
                return EXIT_USAGE
            pruned = schedule.prune(targets.parse(where, settings.backup), settings.backup)
            for name in pruned.deleted:
                print(f"deleted {name}")
            print(f"kept {len(pruned.kept)} archive(s), deleted {len(pruned.deleted)}")
            return 0
        passphrase = secrets.passphrase(twice=True) if args.with_secrets else None
        progress = _byte_progress("backup")
        result = create.backup(args.to, now=clock.now(), passphrase=passphrase, progress=progress)
        if progress is not None:
            progress("done", 1, 1)
    except (BackupError, OSError) as exc:
        print(f"mailwarden: backup failed: {exc}", file=sys.stderr)
        return 1
    manifest = result.manifest
    print(
        f"backup written to {result.location}: {result.size:,} bytes, {len(manifest.files):,} "
        f"files, ledger at entry {manifest.ledger_head_seq:,}"
        + (", secrets encrypted" if manifest.secrets else ", without secrets")
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    setup_django(needs_database=False)
    from mailwarden.core.backup import restore, secrets
    from mailwarden.core.backup.errors import BackupError
    from mailwarden.core.terminal import confirmed

    def confirm(lost: list[str]) -> bool:
        if args.yes:
            return True
        question = "This replaces " + "; ".join(lost) + ".\nType REPLACE to go on: "
        return confirmed(question, "REPLACE", sys.stdin, sys.stderr)

    try:
        passphrase = None
        if os.environ.get(secrets.PASSPHRASE_VARIABLE) or args.with_secrets:
            passphrase = secrets.passphrase(twice=False)
        progress = _byte_progress("restore")
        outcome = restore.restore(
            args.archive,
            force=args.force,
            confirm=confirm,
            passphrase=passphrase,
            progress=progress,
        )
        if progress is not None:
            progress("done", 1, 1)
    except BackupError as exc:
        print(f"mailwarden: restore refused: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"mailwarden: restore failed: {exc}", file=sys.stderr)
        return 1
    manifest = outcome.manifest
    print(
        f"restored the backup of {manifest.created_at} into the {outcome.database}; "
        f"settings without secrets in {outcome.config_path}"
        if not outcome.secrets_restored
        else f"restored the backup of {manifest.created_at} into the {outcome.database}; "
        f"settings with their secrets in {outcome.config_path}"
    )
    for note in outcome.notes:
        print(f"note: {note}")
    if not outcome.ledger_ok:
        print(f"ledger BROKEN at {outcome.ledger_problem}", file=sys.stderr)
        return 1
    print(
        f"ledger OK: {manifest.ledger_head_seq:,} entries, head {manifest.ledger_head_hash}; "
        f"matches {outcome.checkpoints} signed checkpoint(s) from the archive"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    setup_django(needs_database=False)
    from django.core.management import call_command

    call_command("check", deploy=args.deploy, fail_level="WARNING")
    return 0


def _shape(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("give the size as WIDTHxHEIGHT, e.g. 512x384") from None
    if not (32 <= width <= 8192 and 32 <= height <= 8192):
        raise argparse.ArgumentTypeError("width and height must be 32 to 8192 pixels")
    return height, width


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class _Progress:
    """A progress line on stderr: a bar where the work reports its steps, else elapsed time."""

    def __init__(self, total: int, label: str) -> None:
        import threading
        import time

        self.total, self.label, self.done = total, label, 0
        self._time = time.monotonic
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> _Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._draw()
        print(file=sys.stderr, flush=True)

    def step(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total or self.total

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw()

    def _draw(self) -> None:
        elapsed = self._time() - self._start
        if self.done:
            width = 30
            filled = int(width * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (width - filled)
            line = f"{self.label} [{bar}] {self.done}/{self.total}  {elapsed:.0f} s"
        else:
            line = f"{self.label}: {self.total} parcels  {elapsed:.0f} s"
        print(f"\r{line}", end="", file=sys.stderr, flush=True)


def cmd_xray_eval(args: argparse.Namespace) -> int:
    import inspect

    from mailwarden.xray.evaluate import evaluate, roc_png
    from mailwarden.xray.projection import ScanConfig

    config = ScanConfig(shape=args.size) if args.size else ScanConfig()
    kwargs: dict[str, Any] = {}
    show = not args.json and sys.stderr.isatty()
    progress = _Progress(args.n, "evaluating") if show else None
    # Steps are drawn when the library reports them (progress(done, total)); until then the
    # line shows the elapsed time.
    if progress is not None and "progress" in inspect.signature(evaluate).parameters:
        kwargs["progress"] = progress.step
    if progress is not None:
        with progress:
            result = evaluate(args.n, args.seed, config, **kwargs)
    else:
        result = evaluate(args.n, args.seed, config, **kwargs)
    if args.roc:
        roc_png(result, args.roc)
    if args.json:
        print(json.dumps(result.to_json()))
        return 0

    def number(value: float) -> str:
        return "   n/a" if value != value else f"{value:6.3f}"

    print(f"{args.n} parcels, seed {args.seed}")
    print(
        f"{'class':<10} {'pd':>6} {'far':>6} {'auc':>6} {'threats':>8} {'false alarms':>13} "
        f"{'threshold':>10}"
    )
    for name, c in result.classes.items():
        print(
            f"{name:<10} {number(c.pd)} {number(c.far)} {number(c.auc)} {c.threats:>8} "
            f"{c.false_alarms:>13} {number(result.thresholds[name]):>10}"
        )
    print(
        "pd: share of threats found; far: false alarms per parcel; auc: area under the ROC; "
        "threshold: the score a region needs to be reported"
    )
    if args.roc:
        print(f"ROC curves written to {args.roc}")
    return 0


def cmd_xray_analyze(args: argparse.Namespace) -> int:
    from mailwarden.core.errors import ServiceError
    from mailwarden.screening import decode, imaging

    if len(args.files) > 2:
        print("mailwarden: give one colour composite, or a high and a low image", file=sys.stderr)
        return EXIT_USAGE
    uploads = get_settings().uploads
    limits = decode.Limits(max_bytes=uploads.max_bytes, max_pixels=uploads.max_pixels)
    files = list(args.files)
    # A pair may come in either order when the names say which is which.
    if len(files) == 2 and "low" in files[0].lower() and "low" not in files[1].lower():
        files.reverse()
    data: list[bytes] = []
    for name in files:
        try:
            with open(name, "rb") as handle:
                data.append(handle.read())
        except OSError as exc:
            print(f"mailwarden: cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 1
    try:
        decoded = (
            decode.pair(data[0], data[1], limits)
            if len(data) == 2
            else decode.single(data[0], limits)
        )
        found = imaging.regions(decoded)
    except ServiceError as exc:
        index = {"high": 0, "low": 1}.get(exc.field or "", 0)
        print(f"mailwarden: {files[index]}: {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"mailwarden: the image could not be analysed: {exc}", file=sys.stderr)
        return 1
    regions = [imaging.region_json(r) for r in found]
    if args.json:
        width, height = decoded.size
        print(
            json.dumps(
                {
                    "files": files,
                    "kind": decoded.kind,
                    "width": width,
                    "height": height,
                    "regions": regions,
                }
            )
        )
        return 0
    label = " + ".join(files)
    if not regions:
        print(f"{label}: no threat regions")
    for r in regions:
        r0, c0, r1, c1 = r["bbox"]
        print(
            f"{label}: {r['cls']:<9} {r['score']:.2f}  rows {r0}-{r1} cols {c0}-{c1}  "
            f"{r['area_cm2']} cm²  {r['reason']}"
        )
    return 0


def cmd_screening_watch(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    setup_django()
    from django.db import close_old_connections

    from mailwarden.core.actor import Actor
    from mailwarden.core.roles import Role
    from mailwarden.screening.watch import Outcome, process_folder

    folder = Path(args.folder)
    actor = Actor.device(args.device, Role.SCREENER)

    def report(outcome: Outcome) -> None:
        files = ", ".join(outcome.files)
        if outcome.ok:
            print(f"imported {files} for {outcome.uid}: {outcome.detail}", flush=True)
        else:
            print(f"rejected {files}: {outcome.detail}", file=sys.stderr, flush=True)

    while True:
        outcomes = process_folder(folder, actor, report=report)
        if args.once:
            return 0 if all(o.ok for o in outcomes) else 1
        # A connection left idle between looks may have been dropped by the database.
        close_old_connections()
        time.sleep(args.interval)


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
        if name == "serve":
            p.add_argument(
                "--workers",
                type=_positive,
                default=os.cpu_count() or 1,
                help="server processes to run (default: one per core, here %(default)s)",
            )
        if name == "demo":
            _seed_args(p)
            p.add_argument(
                "--seed-only",
                action="store_true",
                help="seed the demo data (once) and exit without serving",
            )

    add("migrate", cmd_migrate, "Create or upgrade the database schema.")
    _seed_args(add("seed-demo", cmd_seed_demo, "Seed demo data into an empty database."))
    p = add("worker", cmd_worker, "Run background tasks (outbox, notifications, reminders).")
    p.add_argument("--burst", action="store_true", help="work until the queue is empty, then exit")

    ledger = add("ledger", lambda a: _usage(a, "ledger"), "Inspect the tamper-evident ledger.")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    p = ledger_sub.add_parser("verify", help="Check every entry; exit 1 at the first bad one.")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes for a long ledger (default: cores, at most 4; 1 walks alone)",
    )
    p.set_defaults(fn=cmd_ledger_verify)
    p = ledger_sub.add_parser(
        "checkpoint", help="Sign a checkpoint of the ledger's Merkle tree into the folder."
    )
    p.set_defaults(fn=cmd_ledger_checkpoint)
    p = ledger_sub.add_parser("public-key", help="Print the key that verifies the checkpoints.")
    p.set_defaults(fn=cmd_ledger_public_key)
    p = ledger_sub.add_parser(
        "generate-key", help="Create a checkpoint signing key (for MW_LEDGER_KEY_FILE)."
    )
    p.add_argument("file", metavar="FILE", help="where to write it (never replaced)")
    p.add_argument("--name", required=True, help="the log's name, e.g. mail.example.org/ledger")
    p.set_defaults(fn=cmd_ledger_generate_key)
    p = ledger_sub.add_parser(
        "check-receipt",
        help="Check a custody export's receipt offline; exit 1 unless every proof holds.",
    )
    p.add_argument("file", metavar="FILE", help="the custody export (JSON)")
    p.add_argument("--key", required=True, metavar="PUB", help="the public key, or its file")
    p.set_defaults(fn=cmd_ledger_check_receipt)

    retention = add("retention", lambda a: _usage(a, "retention"), "Retention rules and purges.")
    retention_sub = retention.add_subparsers(
        dest="retention_command", required=True, metavar="ACTION"
    )
    p = retention_sub.add_parser(
        "run", help="Purge now what the retention rules no longer keep (legal holds respected)."
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be purged")
    p.set_defaults(fn=cmd_retention_run)

    p = add("events", cmd_events, "List the domain events other parts can react to.")
    p.add_argument("--markdown", action="store_true", help="print the catalogue as docs/events.md")

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
    p.add_argument("--role", required=True, metavar="ROLE", help=f"the token's role: {_ROLES}")
    p.add_argument("--device", help="device name, for edge controllers, scanners, cameras")
    p.set_defaults(fn=cmd_token_issue)
    p = token_sub.add_parser("revoke", help="Revoke a token by its prefix.")
    p.add_argument("prefix")
    p.set_defaults(fn=cmd_token_revoke)

    user = add("user", lambda a: _usage(a, "user"), "Manage console users.")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    p = user_sub.add_parser("create", help="Create a user with one or more roles.")
    p.add_argument("username")
    p.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help=f"a role, repeatable: {_ROLES}",
    )
    p.add_argument("--email")
    p.add_argument("--password", help="default: MW_NEW_USER_PASSWORD or a prompt")
    p.set_defaults(fn=cmd_user_create)

    xray = add("xray", lambda a: _usage(a, "xray"), "X-ray tools: evaluate and analyse images.")
    xray_sub = xray.add_subparsers(dest="xray_command", required=True, metavar="ACTION")
    p = xray_sub.add_parser(
        "eval",
        help="Measure threat detection on simulated parcels: pd, false alarms, AUC per class.",
        description="Simulate labelled parcels, analyse them and score detection per class.",
    )
    p.add_argument("--n", type=_positive, default=1000, help="parcels to simulate (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--size", type=_shape, help="image size WIDTHxHEIGHT (default the scanner's)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--roc", metavar="PATH", help="write the ROC curves as a PNG here")
    p.set_defaults(fn=cmd_xray_eval)
    p = xray_sub.add_parser(
        "analyze",
        help="Find threat regions in a colour composite, a DICOS file or a high/low pair.",
        description="Find threat regions in one colour composite or DICOS file, or in a "
        "high/low pair of 16-bit TIFFs given as two files (high first, unless the names say).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="one image, or the high and low pair")
    p.add_argument("--json", action="store_true", help="print the regions as one JSON object")
    p.set_defaults(fn=cmd_xray_analyze)

    # Imported here, not at the top: the vision commands load OpenCV only when they run, and
    # import nothing from Django.
    from mailwarden.vision.cli import add_vision_commands

    add_vision_commands(sub)

    screening = add("screening", lambda a: _usage(a, "screening"), "Screening tools.")
    screening_sub = screening.add_subparsers(
        dest="screening_command", required=True, metavar="ACTION"
    )
    p = screening_sub.add_parser(
        "watch",
        help="Import scans that a scanner drops in a folder.",
        description="Import <uid>.png|jpg|tif|bmp|dcm and <uid>_high.tif + <uid>_low.tif "
        "files from FOLDER as scans; imported files move to done/, refused ones to rejected/ "
        "beside a .error.txt giving the reason.",
    )
    p.add_argument("folder", metavar="FOLDER", help="the scanner's drop folder")
    p.add_argument("--once", action="store_true", help="import what is there now, then exit")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between looks (default 2)")
    p.add_argument("--device", default="scanner-folder", help="the scanner's name on the ledger")
    p.set_defaults(fn=cmd_screening_watch)

    from mailwarden.access.cli import add_access_commands
    from mailwarden.edge.cli import add_edge_commands
    from mailwarden.surveillance.cli import add_surveillance_commands
    from mailwarden.training.cli import add_training_commands

    add_access_commands(sub)
    add_edge_commands(sub)
    add_surveillance_commands(sub)
    add_training_commands(sub)

    p = add(
        "backup",
        cmd_backup,
        "Write one archive of the database, media, checkpoints and settings (server may run).",
    )
    p.add_argument(
        "--to",
        metavar="PATH_OR_URL",
        help="a folder or s3://bucket/prefix (default: backup.to, else <data folder>/backups)",
    )
    p.add_argument(
        "--with-secrets",
        action="store_true",
        help="include the secrets, encrypted with MW_BACKUP_PASSPHRASE or a passphrase asked",
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="only delete the archives the keep rules (backup.keep_*) no longer hold",
    )
    p = add("restore", cmd_restore, "Check an archive, then restore it into an empty database.")
    p.add_argument("archive", metavar="ARCHIVE", help="the archive's path or s3:// URL")
    p.add_argument(
        "--force", action="store_true", help="replace a database that holds data (asks first)"
    )
    p.add_argument("--yes", action="store_true", help="with --force: do not ask (for scripts)")
    p.add_argument(
        "--with-secrets",
        action="store_true",
        help="restore the secrets too (MW_BACKUP_PASSPHRASE or a passphrase asked)",
    )

    p = add("check", cmd_check, "Check the configuration (use --deploy for production).")
    p.add_argument("--deploy", action="store_true", help="include the production checks")
    return parser


_ROLES = ", ".join(Role)


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
