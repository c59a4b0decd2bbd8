"""``mailwarden vision analyze`` and ``mailwarden vision eval``: a video file through the camera
pipeline, for anyone to measure it on their own footage.

``add_vision_commands(subparsers)`` adds them to the ``mailwarden`` parser. This module imports
only the standard library at load time, so the other commands do not pay for OpenCV, and nothing
here imports Django. Each handler returns an exit code; problems are one line naming the field.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

EXIT_FAILED = 1
EXIT_USAGE = 2


def add_vision_commands(subparsers: Any) -> argparse.ArgumentParser:
    vision = subparsers.add_parser(
        "vision",
        help="Video analytics: analyse a video file, or score it against hand labels.",
        description="Run a video file through the camera pipeline (motion gating, tracking, "
        "zone and door-line rules), faster than real time.",
    )
    vision.set_defaults(fn=lambda a: _usage(vision))
    actions = vision.add_subparsers(dest="vision_command", metavar="ACTION")
    p = actions.add_parser(
        "analyze",
        help="Print the events a video raises under a rules file.",
        description="Print one JSON object per event (type, zone, frame, time_s, track, bbox "
        "[x0, y0, x1, y1] in the video's pixels), then a summary object.",
    )
    p.add_argument("video", metavar="VIDEO", help="a video file OpenCV can read (MP4, GIF, ...)")
    p.add_argument("--rules", required=True, metavar="RULES.yaml", help="zones, lines and rules")
    p.add_argument("--json", action="store_true", help="JSON lines (the default prints text)")
    p.add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="[LINE:]SECONDS",
        help="a badge grant on a door line at this second of the video (repeatable; without "
        "LINE it is on every line)",
    )
    p.add_argument("--evidence", metavar="DIR", help="write each event's snapshot and clip here")
    p.add_argument("--start", metavar="ISO", help="wall-clock time of the first frame")
    p.add_argument("--fps", type=float, help="analysed frames per second (default: the rules')")
    p.add_argument("--onnx", metavar="MODEL", help="detect people with this ONNX model")
    p.set_defaults(fn=cmd_analyze)
    p = actions.add_parser(
        "eval",
        help="Precision and recall of a video's events against hand labels.",
        description="Analyse a video and score its events and person tracks against a labels "
        "file (see docs/vision.md).",
    )
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("--labels", required=True, metavar="LABELS.yaml")
    p.add_argument("--rules", metavar="RULES.yaml", help="default: the one the labels name")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(fn=cmd_eval)
    p = actions.add_parser(
        "run",
        help="Run the camera worker: the cameras, zones and rules the server assigns it.",
        description="Watch the cameras the server assigns this worker and report their events "
        "(with snapshots and clips) and status. The device token comes from MW_VISION_TOKEN or "
        "--token-file; configuration changes are picked up without a restart.",
    )
    p.add_argument("--server", required=True, metavar="URL", help="the mailwarden server")
    p.add_argument(
        "--data", required=True, metavar="DIR", help="the worker's folder: outbox and evidence"
    )
    p.add_argument("--token-file", metavar="FILE", help="a file holding the device token")
    p.add_argument(
        "--files-once",
        action="store_true",
        help="play a camera that is a video file once (the default loops it)",
    )
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    p.set_defaults(fn=cmd_run)
    return vision


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"mailwarden: {message}", file=sys.stderr)
    return code


class Progress:
    """A bar on stderr, redrawn at most twice a second."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label, self.stream = label, stream
        self.start = time.monotonic()
        self.drawn = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.5:
            return
        self.drawn = now
        elapsed = now - self.start
        if total:
            width = 30
            filled = min(width, int(width * done / total))
            line = f"{self.label} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}"
        else:
            line = f"{self.label}: {done} frames"
        print(f"\r{line}  {elapsed:.0f} s", end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.drawn:
            print(file=self.stream, flush=True)


def _grants(values: list[str], rules: Any) -> list[Any]:
    from mailwarden.vision.rules import Grant

    out = []
    for value in values:
        line, _, seconds = value.rpartition(":")
        try:
            at = float(seconds)
        except ValueError:
            raise ValueError(f"--grant {value}: SECONDS must be a number") from None
        names = [line] if line else [x.name for x in rules.lines]
        known = {x.name for x in rules.lines}
        if line and line not in known:
            raise ValueError(f"--grant {value}: no line named {line!r} in the rules")
        out += [Grant(name, at) for name in names]
    return out


def _run(
    video: str,
    rules: Any,
    grants: list[Any],
    evidence: str | None,
    start: Any,
    onnx: str | None,
    show: bool,
    on_event: Callable[[Any], None] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    from mailwarden.vision.video import FileRun

    detector = None
    if onnx:
        from mailwarden.vision.detect import OnnxDetector

        detector = OnnxDetector(onnx)
    progress = Progress(f"analysing {Path(video).name}") if show else None
    run = FileRun(
        video,
        rules,
        grants=grants,
        detector=detector,
        evidence=evidence,
        start_time=start,
        progress=progress,
    )
    events = []
    try:
        for event in run.events():
            events.append(event)
            # Printed as soon as it fires, so a long file shows its events while it runs.
            if on_event is not None:
                on_event(event)
    finally:
        if progress is not None:
            progress.close()
    return events, run.summary()


def cmd_analyze(args: argparse.Namespace) -> int:
    from mailwarden.vision.capture import CaptureError
    from mailwarden.vision.config import RulesError, load_rules

    try:
        rules = load_rules(args.rules)
        if args.fps is not None:
            if args.fps <= 0:
                return _fail("--fps: must be above 0", EXIT_USAGE)
            rules = rules.model_copy(
                update={"analysis": rules.analysis.model_copy(update={"fps": args.fps})}
            )
        grants = _grants(args.grant, rules)
        start = dt.datetime.fromisoformat(args.start) if args.start else None
    except (RulesError, ValueError) as exc:
        return _fail(f"{args.rules}: {exc}" if isinstance(exc, RulesError) else str(exc), 2)

    def show(event: Any) -> None:
        if args.json:
            print(json.dumps(event.to_json()), flush=True)
        else:
            e = event.to_json()
            rest = {k: v for k, v in e.items() if k not in ("type", "zone", "frame", "time_s")}
            print(
                f"{e['time_s']:8.2f} s  frame {e['frame']:>6}  {e['type']:<13} {e['zone']:<12}"
                f" {json.dumps(rest)}",
                flush=True,
            )

    try:
        _, summary = _run(
            args.video,
            rules,
            grants,
            args.evidence,
            start,
            args.onnx,
            show=sys.stderr.isatty(),
            on_event=show,
        )
    except RulesError as exc:
        return _fail(f"{args.rules}: {exc}", EXIT_USAGE)
    except (CaptureError, RuntimeError) as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps({"summary": summary}))
    else:
        print(
            f"{summary['frames']} frames ({summary['duration_s']} s), {summary['analysed']} "
            f"analysed past the motion gate, {summary['person_tracks']} person tracks, "
            f"events: {summary['events'] or 'none'}"
        )
    return 0


def _share(value: float | None) -> str:
    return " n/a" if value is None else f"{value:.2f}"


def cmd_eval(args: argparse.Namespace) -> int:
    from mailwarden.vision.capture import CaptureError
    from mailwarden.vision.config import RulesError, load_rules
    from mailwarden.vision.evaluate import load_labels, score

    try:
        labels = load_labels(args.labels)
        rules_path = args.rules or (
            str(Path(args.labels).parent / labels.rules) if labels.rules else None
        )
        if rules_path is None:
            return _fail("--rules: the labels name no rules file; give one", EXIT_USAGE)
        rules = load_rules(rules_path)
    except RulesError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        events, summary = _run(
            args.video, rules, [], None, None, None, show=not args.json and sys.stderr.isatty()
        )
    except RulesError as exc:
        return _fail(f"{rules_path}: {exc}", EXIT_USAGE)
    except CaptureError as exc:
        return _fail(str(exc))
    result = score(labels, events, summary)
    if args.json:
        print(json.dumps({"video": args.video, **result.to_json(), "summary": summary}))
        return 0
    o = result.overall
    print(f"{args.video}: {summary['frames']} frames, {summary['duration_s']} s")
    print(
        f"events: precision {_share(o.precision)}, recall {_share(o.recall)} "
        f"({o.tp} found, {o.fp} unexpected, {o.fn} missed)"
    )
    for name, s in sorted(result.by_type.items()):
        print(
            f"  {name:<13} precision {_share(s.precision)}  recall {_share(s.recall)}  "
            f"(found {s.tp}, unexpected {s.fp}, missed {s.fn})"
        )
    print(
        f"people: {result.person_tracks} person tracks for {result.people_labelled} labelled; "
        f"at most {result.max_people} at once"
        + (f" for {result.max_people_labelled} labelled" if result.max_people_labelled else "")
    )
    return 0


TOKEN_ENV = "MW_VISION_TOKEN"


def read_token(token_file: str | None, environ: dict[str, str] | None = None) -> str:
    """The device token, from ``--token-file`` or ``MW_VISION_TOKEN``; ValueError naming the
    source when it is missing or malformed."""
    import os
    import stat

    environ = dict(os.environ) if environ is None else environ
    if token_file:
        path = Path(token_file)
        try:
            info = path.stat()
            token = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise ValueError(f"--token-file: file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not ASCII text"
            raise ValueError(f"--token-file: cannot read {path}: {reason}") from None
        exposed = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH
        if os.name == "posix" and info.st_mode & exposed:
            print(
                f"mailwarden: --token-file: {path} can be read or changed by other users; "
                "chmod 600 it",
                file=sys.stderr,
            )
        where = "--token-file"
    else:
        token = environ.get(TOKEN_ENV, "").strip()
        where = TOKEN_ENV
        if not token:
            raise ValueError(f"{TOKEN_ENV} or --token-file: the worker's device token is needed")
    if not token or any(c.isspace() for c in token):
        raise ValueError(f"{where}: a device token is one word with no spaces")
    return token


def cmd_run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    from mailwarden.vision.remote import ServerClient, TokenRefused, Unreachable
    from mailwarden.vision.service import VisionService

    if not args.server.startswith(("http://", "https://")):
        return _fail("--server: must be an http:// or https:// address", EXIT_USAGE)
    try:
        token = read_token(args.token_file)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    level = str(args.log_level).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        return _fail("--log-level: must be DEBUG, INFO, WARNING or ERROR", EXIT_USAGE)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        service = VisionService(
            ServerClient(args.server, token), args.data, loop_files=not args.files_once
        )
    except OSError as exc:
        return _fail(f"--data: cannot use {args.data}: {exc.strerror or exc}")
    try:
        found = service.connect()
    except TokenRefused as exc:
        service.close()
        return _fail(f"{exc}; check MW_VISION_TOKEN or --token-file")
    except Unreachable as exc:
        service.close()
        return _fail(f"cannot reach the server: {exc}")
    except Exception as exc:
        service.close()
        return _fail(f"cannot start: {exc}")
    print(
        f"mailwarden vision: worker {found.worker} runs {len(found.cameras)} camera(s); "
        "Ctrl-C stops it",
        file=sys.stderr,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    service.run(stop)
    return 0
