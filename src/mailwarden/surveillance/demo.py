"""Surveillance for ``mailwarden demo`` (:class:`SurveillanceDemo`, declared on the app's
config): a vision worker and a camera at the demo site, with a zone for loitering and one for
presence, and the worker itself (:class:`DemoVision`), running in this process against the demo
server and playing a clip shipped in the package in a loop, so video events appear on first
start.

Everything is made through the surveillance services; the worker is the real ``mailwarden
vision`` worker, which talks to the server over HTTP with its device token.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mailwarden.core.demo_thread import BesideServer, local_url
from mailwarden.core.plugins import DemoOptions, DemoSeeder

if TYPE_CHECKING:
    from mailwarden.vision.service import VisionService

log = logging.getLogger(__name__)

WORKER = "demo-vision"
CAMERA = "mailroom-cam"
FOLDER = "demo-vision"
TOKEN_FILE = "token"
CLIP = "demo-mailroom.mp4"


def folder(data_dir: str | Path) -> Path:
    return Path(data_dir) / FOLDER


def shipped_clip() -> Path:
    return Path(__file__).parent / "data" / CLIP


class SurveillanceDemo(DemoSeeder):
    """A camera watching the demo mailroom, and its worker."""

    def present(self) -> str | None:
        from mailwarden.surveillance.models import Camera

        count = Camera.objects.count()
        return f"{count} cameras" if count else None

    def seed(self, options: DemoOptions) -> str:
        from django.conf import settings

        from mailwarden.directory.models import Site

        site = Site.objects.order_by("pk").first()
        if site is None:
            return ""
        seed_surveillance(site.code, settings.DATA_DIR)
        return "Surveillance: a camera with loitering and presence zones, and its vision worker."

    def banner(self, url: str) -> list[str]:
        return [f"  Cameras:  a demo camera plays a looping clip: {url}surveillance/events/"]

    def live(self, host: str, port: int, options: DemoOptions) -> DemoVision | None:
        from django.conf import settings

        where = folder(settings.DATA_DIR)
        if not (where / TOKEN_FILE).is_file():
            return None  # seeded before surveillance existed: nothing to run
        return DemoVision(where, local_url(host, port)).start()


def seed_surveillance(site: str, data_dir: str | Path) -> None:
    """The worker (its token written to ``<data>/demo-vision/token``, mode 0600), the clip copied
    beside it, and the camera that plays it with its zones."""
    from mailwarden.core.actor import Actor
    from mailwarden.surveillance.services import cameras

    admin = Actor.job("demo-seed")
    where = folder(data_dir)
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    clip = where / CLIP
    shutil.copyfile(shipped_clip(), clip)
    enrolment = cameras.enrol_worker(admin, name=WORKER, site=site)
    _write_token(where / TOKEN_FILE, enrolment.token)
    cameras.create_camera(
        admin,
        cameras.CameraSpec(
            site=site,
            name=CAMERA,
            label="Mailroom floor",
            url=str(clip.resolve()),
            worker=WORKER,
            analysis_fps=5.0,
            pre_roll_s=2.0,
            post_roll_s=2.0,
        ),
    )
    cameras.set_regions(
        admin,
        CAMERA,
        [
            cameras.RegionSpec(
                kind="zone",
                name="mailroom-floor",
                rules=[{"type": "loitering", "seconds": 10}],
            ),
            cameras.RegionSpec(
                kind="zone",
                name="counter",
                points=[(0.7, 0.0), (1.0, 0.0), (1.0, 1.0), (0.7, 1.0)],
                rules=[{"type": "presence"}],
            ),
        ],
    )


def _write_token(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that already existed
        os.write(fd, (token + "\n").encode("ascii"))
    finally:
        os.close(fd)


class DemoVision(BesideServer):
    """The demo's vision worker, in a thread of this process: once the server listens, the
    real worker runs with the seeded token."""

    thread_name = "demo-vision"
    what = "the demo camera's worker"
    lacking = "live video events"

    def __init__(
        self,
        where: str | Path,
        server_url: str,
        *,
        wait_s: float = 60.0,
        speed: float = 1.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(where, server_url, wait_s=wait_s, report=report)
        self.speed = speed
        self.service: VisionService | None = None

    def run(self) -> None:
        from mailwarden.vision.remote import ServerClient
        from mailwarden.vision.service import VisionService

        token = (self.where / TOKEN_FILE).read_text(encoding="ascii").strip()
        service = VisionService(
            ServerClient(self.server_url, token), self.where / "worker", file_speed=self.speed
        )
        self.service = service
        service.connect()
        self.running.set()
        service.run(self._stop)
