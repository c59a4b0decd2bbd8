"""The running ``mailwarden vision run`` worker: its cameras from the server's configuration,
its events through a durable outbox, its camera status, and MQTT.

- **Configuration.** Fetched at start and polled every ``poll_s`` with ``If-None-Match``; a change
  starts new cameras, stops removed ones and restarts only the cameras whose settings changed,
  while the others run on.
- **Events.** Each event, once its clip's post-roll is written, goes into the on-disk outbox
  (``mailwarden.edge.outbox``) with its idempotency key and the paths of its snapshot and clip.
  The sender uploads the evidence, then posts the batch; while the server is away the outbox
  backs off and keeps everything, and the key makes a resent event count once.
- **Status.** Every ``poll_s``, each camera's state, last frame and counts go to the server with a
  fresh JPEG of its latest frame.
- **MQTT.** With the configuration's MQTT settings, every event is published on
  ``{prefix}/{camera}/events`` and every status change, retained, on ``{prefix}/{camera}/status``.

No Django here: the worker talks to the server only through its HTTP API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import cv2
from pydantic import ValidationError

from mailwarden.contracts.vision import (
    CameraStatusIn,
    MqttSettings,
    RejectedVideoEvent,
    VideoEventBatchResult,
    VideoEventIn,
    WorkerCamera,
    WorkerConfig,
)
from mailwarden.edge.clock import WallClock, utc_now
from mailwarden.edge.outbox import Backoff as OutboxBackoff
from mailwarden.edge.outbox import DeliveryResult, Outbox, OutboxEvent
from mailwarden.vision import config
from mailwarden.vision.capture import Status
from mailwarden.vision.playback import FilePlayer, file_path
from mailwarden.vision.remote import (
    Refused,
    RemoteError,
    ServerClient,
    TokenRefused,
    to_rules,
    wall_clock_start,
)
from mailwarden.vision.rules import Event
from mailwarden.vision.worker import Camera, CameraGroup

log = logging.getLogger(__name__)

EVENT_KIND = "video_event"
BATCH = 20  # clips are large: a short batch keeps a retry small
STATES = {"online": "online", "offline": "offline", "ended": "ended"}


class MqttPublisher:
    """Publishes at QoS 1 on the broker the configuration names; paho reconnects by itself and
    keeps what is published meanwhile."""

    def __init__(self, settings: MqttSettings, client_id: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.settings = settings
        self.connected = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id
        )
        self.client.on_connect = lambda *args: self.connected.set()
        self.client.on_disconnect = lambda *args: self.connected.clear()
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(settings.host, settings.port)
        self.client.loop_start()

    def topic(self, camera: str, what: str) -> str:
        return f"{self.settings.topic_prefix.rstrip('/')}/{camera}/{what}"

    def publish(
        self, camera: str, what: str, payload: dict[str, Any], retain: bool = False
    ) -> None:
        body = json.dumps(payload, sort_keys=True, default=str)
        self.client.publish(self.topic(camera, what), body, qos=1, retain=retain)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class _Watched(Status):
    """A camera's status that says each change as it happens, so MQTT misses none."""

    def __init__(self, on_change: Callable[[Status], None]) -> None:
        super().__init__()
        self.on_change = on_change

    def set(self, state: str, reason: str | None = None) -> None:
        super().set(state, reason)
        self.on_change(self)


@dataclass
class _Started:
    """When a camera's video time 0 was on the wall clock, and its frame size."""

    wall: dt.datetime
    size: tuple[int, int]


def camera_url(camera: WorkerCamera) -> str:
    """The stream's URL with the camera's credentials, which the configuration holds apart."""
    if not camera.username:
        return camera.url
    parts = urlsplit(camera.url)
    if not parts.hostname:
        return camera.url
    auth = quote(camera.username, safe="")
    if camera.password:
        auth += ":" + quote(camera.password, safe="")
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return parts._replace(netloc=f"{auth}@{host}").geturl()


class VisionService:
    def __init__(
        self,
        client: ServerClient,
        data_dir: str | Path,
        *,
        loop_files: bool = True,
        file_speed: float = 1.0,
        outbox_clock: WallClock = utc_now,
        wall: WallClock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        outbox_backoff: OutboxBackoff | None = None,
    ) -> None:
        self.client = client
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.evidence_dir = self.data_dir / "evidence"
        self.snapshot_dir = self.data_dir / "snapshots"
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.loop_files = loop_files
        self.file_speed = file_speed
        self.wall = wall
        self.monotonic = monotonic
        self.outbox = Outbox(
            self.data_dir / "outbox.sqlite3",
            clock=outbox_clock,
            backoff=outbox_backoff or OutboxBackoff(base_s=2.0, cap_s=60.0),
        )
        self.group = CameraGroup([], self._on_event)
        self.config: WorkerConfig | None = None
        self.etag: str | None = None
        self.cameras: dict[str, WorkerCamera] = {}
        self.started: dict[str, _Started] = {}
        self.mqtt: MqttPublisher | None = None
        self.published: dict[str, tuple[str, str | None]] = {}
        self.snapshots: dict[str, str] = {}
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        # Apart from ``lock``: a camera thread publishes while ``apply`` waits for it to stop.
        self.publish_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.server_ok = True

    # -- configuration ---------------------------------------------------------------------

    def connect(self) -> WorkerConfig:
        """Fetch the configuration and start its cameras; a refused token or an unreachable
        server raises (``TokenRefused``, ``Unreachable``) for the command to report."""
        found, etag = self.client.config()
        assert found is not None
        self.etag = etag
        self.apply(found)
        return found

    def poll_config(self) -> bool:
        """Ask whether the configuration changed; apply it if it did."""
        found, etag = self.client.config(self.etag)
        if found is None:
            return False
        self.etag = etag
        self.apply(found)
        return True

    def apply(self, new: WorkerConfig) -> None:
        with self.lock:
            old_mqtt = self.config.mqtt if self.config else None
            self.config = new
            if new.mqtt != old_mqtt or (new.mqtt and self.mqtt is None):
                if self.mqtt is not None:
                    self.mqtt.close()
                self.mqtt = None
                self.published.clear()
                if new.mqtt is not None:
                    self.mqtt = MqttPublisher(new.mqtt, f"mailwarden-vision-{new.worker}")
            wanted = {c.name: c for c in new.cameras}
            for name in [n for n in self.cameras if n not in wanted]:
                log.info("camera %s: removed", name)
                self.group.remove(name)
                self.cameras.pop(name)
            for name, camera in wanted.items():
                before = self.cameras.get(name)
                if before == camera:
                    continue
                if before is None:
                    log.info("camera %s: started", name)
                    self.group.add(self._camera(camera))
                else:
                    log.info("camera %s: settings changed, restarted", name)
                    self.group.replace(self._camera(camera))
                self.cameras[name] = camera

    def _camera(self, wc: WorkerCamera) -> Camera:
        def prepare(size: tuple[int, int], time_s: float) -> config.Rules:
            start = wall_clock_start(wc, self.wall(), time_s)
            self.started[wc.name] = _Started(start, size)
            return to_rules(wc, size, start)

        path = file_path(wc.url)
        # The real rules come from ``prepare``, with the first frame; a bad rule then marks the
        # camera offline with the field at fault, and leaves the other cameras alone.
        camera = Camera(
            wc.name,
            camera_url(wc),
            config.Rules(),
            prepare=prepare,
            evidence=self.evidence_dir / wc.name,
            status=_Watched(lambda status: self.publish_status(wc.name, status)),
        )
        if path is not None:
            camera.source = FilePlayer(path, loop=self.loop_files, speed=self.file_speed)
        return camera

    # -- events ----------------------------------------------------------------------------

    def _on_event(self, camera: str, event: Event) -> None:
        started = self.started.get(camera)
        now = self.wall()
        size = started.size if started else (0, 0)
        occurred = now
        if started is not None:
            occurred = min(now, started.wall + dt.timedelta(seconds=event.time_s))
        w, h = size
        x0, y0, x1, y1 = (round(v) for v in event.bbox)
        x0, x1 = sorted((min(max(x0, 0), w), min(max(x1, 0), w)))
        y0, y1 = sorted((min(max(y0, 0), h), min(max(y1, 0), h)))
        detail = {k: v for k, v in event.extra.items() if k not in ("snapshot", "clip")}
        detail["time_s"] = round(event.time_s, 3)
        key = uuid.uuid4()
        payload = {
            "camera": camera,
            "type": event.type,
            "zone": event.zone,
            "occurred_at": occurred.isoformat(),
            "frame": event.frame,
            "track": event.track,
            "bbox": [x0, y0, x1, y1],
            "frame_size": [w, h],
            "detail": json.loads(json.dumps(detail, default=str)),
            "snapshot_path": event.extra.get("snapshot"),
            "clip_path": event.extra.get("clip"),
        }
        self.outbox.put(EVENT_KIND, payload, key=key)
        log.info("camera %s: %s in %s (event %s)", camera, event.type, event.zone, key)
        mqtt = self.mqtt
        if mqtt is not None:
            public = {k: v for k, v in payload.items() if not k.endswith("_path")}
            mqtt.publish(camera, "events", {"key": str(key), **public})
        self.wake.set()

    def deliver(self) -> DeliveryResult:
        """Send one batch of due events (their evidence first)."""
        return self.outbox.deliver(self._send, limit=BATCH)

    def _send(self, batch: Sequence[OutboxEvent]) -> Iterable[uuid.UUID]:
        events: list[VideoEventIn] = []
        done: list[uuid.UUID] = []
        files: dict[uuid.UUID, list[Path]] = {}
        for item in batch:
            body = dict(item.payload)
            paths: list[Path] = []
            for kind in ("snapshot", "clip"):
                name = body.pop(f"{kind}_path", None)
                if not name:
                    continue
                path = Path(name)
                paths.append(path)
                # A file lost from the disk leaves the event without it, not the event lost.
                if path.is_file():
                    try:
                        body[kind] = self.client.upload(path)
                    except (Refused, ValueError) as exc:
                        # Refused for good (too large, say): the event goes without it.
                        log.warning("event %s: %s not sent: %s", item.key, path.name, exc)
            files[item.key] = paths
            try:
                events.append(VideoEventIn.model_validate({"key": item.key, **body}))
            except ValidationError as exc:
                log.warning("event %s cannot be sent: %s", item.key, config.describe(exc))
                done.append(item.key)
        if events:
            result = self._post(events)
            done += result.accepted
            for refused in result.rejected:
                # Refused for good (the camera was taken away, a box outside the frame):
                # sending it again would be refused again.
                log.warning(
                    "the server refused event %s: %s: %s",
                    refused.key,
                    refused.field,
                    refused.reason,
                )
                done.append(refused.key)
        for key in done:
            for path in files.get(key, []):
                path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # the run's folder, once it is empty
        return done

    def _post(self, events: list[VideoEventIn]) -> VideoEventBatchResult:
        try:
            return self.client.post_events(events)
        except Refused as exc:
            # The batch as a whole was refused (an event this server cannot read, say): one at
            # a time, so that one bad event cannot hold up the others for ever.
            if len(events) == 1:
                reason = str(exc)[:500]
                refused = RejectedVideoEvent(key=events[0].key, field="event", reason=reason)
                return VideoEventBatchResult(accepted=[], rejected=[refused])
        accepted: list[uuid.UUID] = []
        rejected: list[RejectedVideoEvent] = []
        for event in events:
            one = self._post([event])
            accepted += one.accepted
            rejected += one.rejected
        return VideoEventBatchResult(accepted=accepted, rejected=rejected)

    # -- status ----------------------------------------------------------------------------

    def _wall_of(self, monotonic_at: float | None) -> dt.datetime | None:
        if monotonic_at is None:
            return None
        return self.wall() - dt.timedelta(seconds=max(0.0, self.monotonic() - monotonic_at))

    def _snapshot(self, name: str, camera: Camera) -> str | None:
        image = camera.latest
        if image is None:
            return None
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if not ok:
            return None
        path = self.snapshot_dir / f"{name}.jpg"
        path.write_bytes(data.tobytes())
        try:
            digest = self.client.upload(path)
        except RemoteError as exc:
            log.debug("camera %s: snapshot not uploaded: %s", name, exc)
            return self.snapshots.get(name)
        self.snapshots[name] = digest
        return digest

    def status(self, snapshots: bool = True) -> list[CameraStatusIn]:
        out = []
        with self.group.lock:
            running = [(n, r.camera) for n, r in self.group.running.items()]
        for name, camera in running:
            st = camera.status
            state = STATES.get(st.state)
            if state is None:
                continue  # still starting: nothing to say yet
            size = self.started[name].size if name in self.started else None
            out.append(
                CameraStatusIn(
                    camera=name,
                    state=state,  # type: ignore[arg-type]
                    reason=(st.reason or "")[:200],
                    last_frame_at=self._wall_of(st.last_frame_at),
                    frames=st.frames,
                    corrupt_frames=st.corrupt,
                    frame_size=size,
                    snapshot=self._snapshot(name, camera) if snapshots else None,
                )
            )
        return out

    def report_status(self) -> None:
        batch = self.status()
        if batch:
            answer = self.client.post_status(batch)
            for refused in answer.get("rejected", []):
                log.warning(
                    "the server refused the status of camera %s: %s: %s",
                    refused.get("camera"),
                    refused.get("field"),
                    refused.get("reason"),
                )

    def publish_status(self, camera: str, status: Status) -> None:
        """Publish a camera's state, retained, when it or its reason changed."""
        mqtt = self.mqtt
        state = STATES.get(status.state)
        if mqtt is None or state is None:
            return
        now = (state, status.reason)
        with self.publish_lock:
            if self.published.get(camera) == now:
                return
            self.published[camera] = now
        last = self._wall_of(status.last_frame_at)
        mqtt.publish(
            camera,
            "status",
            {
                "camera": camera,
                "state": state,
                "reason": status.reason or "",
                "last_frame_at": last.isoformat() if last else None,
                "at": self.wall().isoformat(),
            },
            retain=True,
        )

    # -- running ---------------------------------------------------------------------------

    def _sender(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                result = self.deliver()
            except Exception:  # the sender must outlive anything one batch does
                log.exception("delivering events failed")
                result = DeliveryResult(0, 0, 0, "error")
            if result.attempted and not result.failed:
                continue  # more may be due at once
            if result.error and self.server_ok:
                log.warning("events wait in the outbox: %s", result.error)
            self.server_ok = not result.error
            self.wake.wait(1.0)
            self.wake.clear()

    def run(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` is set: cameras, sender, polls and status reports."""
        stop = stop or self.stop_event
        sender = threading.Thread(target=self._sender, args=(stop,), name="vision-sender")
        sender.daemon = True
        sender.start()
        next_poll = 0.0
        problem: str | None = None
        try:
            while not stop.is_set():
                now = self.monotonic()
                if now >= next_poll:
                    poll_s = self.config.poll_s if self.config else 10.0
                    next_poll = now + poll_s
                    try:
                        self.poll_config()
                        self.report_status()
                        if problem:
                            log.info("the server answers again")
                        problem = None
                    except RemoteError as exc:
                        if str(exc) != problem:
                            level = (
                                logging.ERROR if isinstance(exc, TokenRefused) else logging.WARNING
                            )
                            log.log(level, "%s", exc)
                        problem = str(exc)
                stop.wait(1.0)
        finally:
            self.wake.set()
            self.group.stop()
            sender.join(15)
            self.close()

    def start(self) -> VisionService:
        """Run in a thread of this process (the demo, the tests); ``stop`` ends it."""
        thread = threading.Thread(target=self.run, args=(self.stop_event,), name="vision-worker")
        thread.daemon = True
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout)

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.close()
            self.mqtt = None
        self.outbox.close()
        self.client.close()
