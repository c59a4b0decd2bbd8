"""The demo's camera: seeded through the services with its worker's token kept owner-only, and
the real worker, started as ``mailwarden demo`` starts it, reporting events on first start."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mailwarden.surveillance import demo
from mailwarden.surveillance.models import Camera, Region, VideoEvent
from tests.factories import make_site
from tests.surveillance.live_helpers import wait_for


@pytest.mark.django_db(transaction=True)
def test_the_demo_camera_reports_events_on_first_start(live_server, tmp_path: Path) -> None:
    make_site()
    demo.seed_surveillance("hq", tmp_path)
    where = demo.folder(tmp_path)
    token = where / demo.TOKEN_FILE
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    camera = Camera.objects.get(name=demo.CAMERA)
    assert camera.worker is not None and camera.worker.name == demo.WORKER
    assert Path(camera.url).read_bytes() == demo.shipped_clip().read_bytes()
    assert sorted(Region.objects.values_list("name", flat=True)) == ["counter", "mailroom-floor"]
    assert demo.SurveillanceDemo().present() == "1 cameras"
    # As fast as the CPU allows, so the test need not wait out the clip's real time.
    running = demo.DemoVision(where, live_server.url, speed=0).start()
    try:
        wait_for(
            lambda: VideoEvent.objects.filter(type="loitering", zone="mailroom-floor").exists(),
            why="a loitering event from the demo camera",
        )
        assert running.failed is None
        wait_for(lambda: Camera.objects.get(name=demo.CAMERA).state == "online", why="status")
    finally:
        running.stop()
    assert not running.running.is_set()
