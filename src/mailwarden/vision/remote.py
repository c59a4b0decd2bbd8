"""The worker's side of the server contract (contracts.vision): an HTTP client for its four
operations, and the conversion of a camera's configuration into the vision library's rules.

The server draws zones and lines as fractions of the frame; the rules work in the video's pixels,
so a camera's rules are made once its first frame says how large the picture is. A door line's
tailgating is the server's to judge (it alone knows the door's badge grants): the worker reports
that line's crossings instead. No Django here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import ValidationError

from mailwarden.contracts.vision import (
    CameraStatusBatch,
    CameraStatusIn,
    VideoEventBatch,
    VideoEventBatchResult,
    VideoEventIn,
    WorkerCamera,
    WorkerConfig,
)
from mailwarden.vision import config

CONFIG_PATH = "/api/surveillance/worker/config"
MEDIA_PATH = "/api/surveillance/worker/media/"
EVENTS_PATH = "/api/surveillance/worker/events"
STATUS_PATH = "/api/surveillance/worker/status"

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".mp4": "video/mp4"}
CONTENT_TYPES[".webm"] = "video/webm"


class RemoteError(RuntimeError):
    """The exchange failed; the message says how, in one line."""

    status: int | None = None


class Refused(RemoteError):
    """The server answered that the request itself is wrong (4xx): sending it again as it is
    would be refused again."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(RemoteError):
    """No answer from the server (down, wrong address, timeout): try again later."""


class TokenRefused(RemoteError):
    """The server refused the worker's token: nothing will work until it is replaced."""


class ServerClient:
    """The worker's HTTP client; thread-safe (the camera, sender and poll threads share it)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code in (401, 403):
            raise TokenRefused(
                f"the server at {self.base_url} refused the worker's token "
                f"({response.status_code}: {_message(response)})"
            )
        if response.status_code >= 500:
            raise Unreachable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Refused(
                f"{method} {path}: HTTP {response.status_code}: {_message(response)}",
                response.status_code,
            )
        return response

    def config(self, etag: str | None = None) -> tuple[WorkerConfig | None, str | None]:
        """The worker's configuration and its ETag; None while ``etag`` still holds."""
        headers = {"If-None-Match": etag} if etag else {}
        response = self._request("GET", CONFIG_PATH, headers=headers)
        if response.status_code == 304:
            return None, etag
        try:
            answer = WorkerConfig.model_validate_json(response.content)
        except ValidationError as exc:
            raise RemoteError(f"{CONFIG_PATH}: unexpected answer: {config.describe(exc)}") from None
        return answer, response.headers.get("ETag")

    def upload(self, path: Path) -> str:
        """Upload an evidence file under its SHA-256; its hash."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        kind = CONTENT_TYPES.get(path.suffix.lower())
        if kind is None:
            raise ValueError(f"{path}: not a snapshot or clip this worker sends")
        self._request("PUT", MEDIA_PATH + digest, content=data, headers={"Content-Type": kind})
        return digest

    def post_events(self, events: Sequence[VideoEventIn]) -> VideoEventBatchResult:
        body = VideoEventBatch(events=list(events)).model_dump_json()
        response = self._request(
            "POST", EVENTS_PATH, content=body, headers={"Content-Type": "application/json"}
        )
        try:
            return VideoEventBatchResult.model_validate_json(response.content)
        except ValidationError as exc:
            raise RemoteError(f"{EVENTS_PATH}: unexpected answer: {config.describe(exc)}") from None

    def post_status(self, cameras: Sequence[CameraStatusIn]) -> dict[str, Any]:
        body = CameraStatusBatch(cameras=list(cameras)).model_dump_json()
        response = self._request(
            "POST", STATUS_PATH, content=body, headers={"Content-Type": "application/json"}
        )
        answer: dict[str, Any] = response.json()
        return answer


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict) and "message" in body:
        field = body.get("field")
        return f"{field}: {body['message']}" if field else str(body["message"])
    return str(body)[:200]


# ----------------------------------------------------------------------------- rules


def _pixels(
    points: Sequence[tuple[float, float]], size: tuple[int, int]
) -> list[tuple[float, float]]:
    w, h = size
    return [(round(x * w, 1), round(y * h, 1)) for x, y in points]


def _line_rules(rules: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [r for r in rules if r.get("type") not in ("tailgating", "line_crossing")]
    if any(r.get("type") in ("tailgating", "line_crossing") for r in rules):
        # The server joins a door line's crossings with the door's badge grants.
        out.append({"type": "line_crossing"})
    return out


def to_rules(
    camera: WorkerCamera, size: tuple[int, int], start_time: dt.datetime | None = None
) -> config.Rules:
    """The camera's rules in the pixels of a ``size`` frame (raises ``config.RulesError``)."""
    data: dict[str, Any] = {
        "zones": [
            {
                "name": z.name,
                "area": "full" if not z.area else _pixels(z.area, size),
                "rules": z.rules,
            }
            for z in camera.zones
        ],
        "lines": [
            {
                "name": line.name,
                "points": _pixels(line.points, size),
                "inside": line.inside,
                "rules": _line_rules(line.rules),
            }
            for line in camera.lines
        ],
        "masks": [_pixels(m, size) for m in camera.masks],
        "analysis": {"fps": camera.analysis_fps, "motion_gating": camera.motion_gating},
        "evidence": {"pre_roll_s": camera.pre_roll_s, "post_roll_s": camera.post_roll_s},
        "start_time": start_time,
    }
    return config.parse_rules(data)


def zone_info(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def wall_clock_start(camera: WorkerCamera, now: dt.datetime, elapsed_s: float) -> dt.datetime:
    """The wall-clock time, in the camera's site's zone, at which its video's second 0 was:
    after-hours schedules are the site's local hours."""
    return (now - dt.timedelta(seconds=elapsed_s)).astimezone(zone_info(camera.time_zone))
