"""A scanner's drop folder: files named after the item are imported as scans.

``<uid>.png|jpg|jpeg|tif|tiff|bmp|dcm`` is one scan (a colour composite, or a DICOS file);
``<uid>_high.tif`` with ``<uid>_low.tif`` is a high/low pair. An imported file moves to
``done/``; a refused one to ``rejected/``, beside a ``<name>.error.txt`` that gives the reason.
Scanners should write a file under another name (or a dot-name) and rename it when complete,
so that half-written files are never picked up. One half of a pair waits for the other for
:data:`PAIR_WAIT`, measured with the injected clock against the file's modification time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.screening import services
from mailwarden.screening.models import ScanSource

log = logging.getLogger(__name__)

DONE = "done"
REJECTED = "rejected"
PAIR_WAIT = timedelta(minutes=10)
SINGLE = re.compile(r"^(?P<uid>[A-Za-z0-9-]{1,16})\.(png|jpe?g|tiff?|bmp|dcm)$", re.IGNORECASE)
HALF = re.compile(r"^(?P<uid>[A-Za-z0-9-]{1,16})_(?P<half>high|low)\.tiff?$", re.IGNORECASE)
NAMING = (
    "name the file <uid>.png, .jpg, .tif, .bmp or .dcm, or send a pair as <uid>_high.tif and "
    "<uid>_low.tif"
)


@dataclass(frozen=True)
class Outcome:
    files: tuple[str, ...]
    uid: str
    ok: bool
    detail: str  # the scan's summary, or the reason it was refused
    scan_id: int | None = None


def _move(path: Path, folder: str) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    path.replace(target)
    return target


def _reject(paths: list[Path], reason: str) -> None:
    for path in paths:
        moved = _move(path, REJECTED)
        moved.with_name(moved.name + ".error.txt").write_text(reason + "\n")


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _candidates(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".part"):
            yield path


def _summary(scan_id: int, regions: list[dict[str, Any]]) -> str:
    if not regions:
        return f"scan {scan_id}: no threat regions"
    found = ", ".join(f"{r['cls']} {float(r['score']):.2f}" for r in regions)
    return f"scan {scan_id}: {found}"


def process_folder(
    folder: Path,
    actor: Actor,
    *,
    report: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Import every complete scan in ``folder`` once; returns what happened to each."""
    if not folder.is_dir():
        raise ServiceError(f"{folder} is not a folder", "folder")
    outcomes: list[Outcome] = []
    halves: dict[str, dict[str, Path]] = {}
    singles: list[tuple[str, Path]] = []
    for path in _candidates(folder):
        if match := HALF.match(path.name):
            halves.setdefault(match["uid"].upper(), {})[match["half"].lower()] = path
        elif match := SINGLE.match(path.name):
            singles.append((match["uid"].upper(), path))
        else:
            _reject([path], f"name: {NAMING}")
            outcomes.append(Outcome((path.name,), "", False, f"name: {NAMING}"))
    jobs: list[tuple[str, list[Path]]] = [(uid, [path]) for uid, path in singles]
    now = clock.now()
    for uid, pair in sorted(halves.items()):
        if "high" in pair and "low" in pair:
            jobs.append((uid, [pair["high"], pair["low"]]))
            continue
        path = next(iter(pair.values()))
        missing = "low" if "high" in pair else "high"
        if now - _modified(path) > PAIR_WAIT:
            reason = f"{missing}: the {missing}-energy image of the pair never arrived"
            _reject([path], reason)
            outcomes.append(Outcome((path.name,), uid, False, reason))
    for uid, paths in jobs:
        outcomes.append(_import(folder, uid, paths, actor))
    if report:
        for outcome in outcomes:
            report(outcome)
    return outcomes


def _import(folder: Path, uid: str, paths: list[Path], actor: Actor) -> Outcome:
    names = tuple(p.name for p in paths)
    try:
        if len(paths) == 2:
            upload = services.ScanUpload(
                high=paths[0].read_bytes(), low=paths[1].read_bytes(), filename=paths[0].name
            )
        else:
            upload = services.ScanUpload(image=paths[0].read_bytes(), filename=paths[0].name)
        scan = services.import_scan(actor, uid, upload, source=ScanSource.WATCH)
    except ServiceError as exc:
        reason = f"{exc.field}: {exc.message}" if exc.field else exc.message
        _reject(paths, reason)
        return Outcome(names, uid, False, reason)
    except Exception as exc:
        # A bug must not leave the file to fail again on every pass; it is kept for a look.
        log.exception("importing %s from %s failed", names, folder)
        reason = f"internal error ({type(exc).__name__}: {exc}); it has been logged"
        _reject(paths, reason)
        return Outcome(names, uid, False, reason)
    for path in paths:
        _move(path, DONE)
    return Outcome(names, uid, True, _summary(scan.pk, scan.regions), scan.pk)
