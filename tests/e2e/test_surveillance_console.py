"""The surveillance console in a real browser: drawing a zone and a door line on a camera's
snapshot and saving them, the camera grid with its snapshot refreshing, and an event page
playing its clip (a real VP8 WebM written by OpenCV) with the acknowledge button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core import media
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.surveillance.models import Camera, Region, VideoEvent
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, follow, shot, sign_in
from tests.factories import ADMIN
from tests.surveillance.console_fixtures import (
    Room,
    jpeg,
    make_event,
    make_room,
    webm_clip,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def console(transactional_db, settings, tmp_path) -> Room:
    settings.MEDIA_STORE_DIR = tmp_path / "media"
    room = make_room()
    for role in (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)
    return room


def click_at(page, x: float, y: float, *, double: bool = False) -> None:
    """A click on the drawing at a fraction of its width and height."""
    canvas = page.locator("[data-canvas]")
    canvas.wait_for(state="visible")
    box = canvas.bounding_box()
    assert box is not None
    position = {"x": box["width"] * x, "y": box["height"] * y}
    if double:
        canvas.dblclick(position=position)
    else:
        canvas.click(position=position)


def near(points: list[list[float]], wanted: list[tuple[float, float]]) -> bool:
    return len(points) == len(wanted) and all(
        abs(p[0] - w[0]) < 0.01 and abs(p[1] - w[1]) < 0.01
        for p, w in zip(points, wanted, strict=True)
    )


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_a_manager_draws_a_zone_and_a_door_line(open_page, console: Room, viewport):
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    follow(page, "nav >> text=Cameras")
    follow(page, f".camera-name a[href='/surveillance/cameras/{console.camera.name}/']")
    follow(page, "text=Draw zones and lines")
    expect(page.locator("h1")).to_have_text("Zones and lines of Dock camera")
    expect(page.locator("[data-stage] img")).to_be_visible()

    # A zone: three corners by clicks, the fourth by a double-click that closes it.
    page.click("[data-tool=zone]")
    click_at(page, 0.1, 0.2)
    click_at(page, 0.5, 0.2)
    click_at(page, 0.5, 0.7)
    click_at(page, 0.1, 0.7, double=True)
    expect(page.locator(".region-zone polygon")).to_have_count(1)
    page.fill("#region-name", "Counter")
    page.check("#rule-loitering")
    page.fill("#rule-loitering-seconds", "20")

    # A door line by two clicks, its door, and its inside side swapped (the arrow follows).
    page.click("[data-tool=line]")
    click_at(page, 0.2, 0.9)
    click_at(page, 0.8, 0.9)
    expect(page.locator(".inside-arrow")).to_have_attribute("data-inside", "left")
    page.fill("#region-name", "Dock threshold")
    page.select_option("#region-door", "dock")
    page.click("text=Swap the inside side")
    expect(page.locator(".inside-arrow")).to_have_attribute("data-inside", "right")
    page.check("#rule-tailgating")

    # A motion mask from the keyboard: arrows move the cross, Space adds a corner, Enter closes.
    page.click("[data-tool=mask]")
    page.locator("[data-canvas]").focus()
    for keys in (["ArrowUp"] * 4, ["ArrowRight"] * 10, ["ArrowDown"] * 10):
        for key in keys:
            page.keyboard.press(key)
        page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.locator(".region-mask polygon")).to_have_count(1)

    # A rule the worker could not run is refused next to its region, and nothing is stored.
    page.click("[data-action=select][data-index='0']")
    page.fill("#rule-loitering-seconds", "0")
    page.click("[data-action=save]")
    expect(page.locator(".region-item .field-error")).to_be_visible()
    expect(page.locator("[data-save-status]")).to_contain_text("Not saved: Zone Counter")
    assert not Region.objects.exists()

    page.fill("#rule-loitering-seconds", "20")
    page.click("[data-action=save]")
    expect(page.locator("[data-save-status]")).to_contain_text("Saved.")
    shot(page, f"surveillance-editor-{'desktop' if viewport == DESKTOP else 'tablet'}")

    zone = Region.objects.get(kind="zone")
    assert zone.name == "Counter"
    assert near(zone.points, [(0.1, 0.2), (0.5, 0.2), (0.5, 0.7), (0.1, 0.7)]), zone.points
    assert {"type": "loitering", "seconds": 20.0} in zone.rules
    line = Region.objects.get(kind="line")
    assert line.name == "Dock threshold" and line.door == console.door
    assert line.inside == "right"
    assert near(line.points, [(0.2, 0.9), (0.8, 0.9)]), line.points
    assert [r["type"] for r in line.rules] == ["line_crossing", "tailgating"]
    mask = Region.objects.get(kind="mask")
    assert near(mask.points, [(0.5, 0.46), (0.6, 0.46), (0.6, 0.56)]), mask.points

    # Reloaded, the page draws what was stored.
    page.reload()
    expect(page.locator(".region")).to_have_count(3)
    expect(page.locator(".region-list")).to_contain_text("Counter")


def test_the_grid_shows_and_refreshes_the_snapshot(open_page, console: Room):
    page = open_page()
    sign_in(page, Role.SECURITY_OPERATOR.value)
    follow(page, "nav >> text=Cameras")
    card = page.locator(f"[data-camera='{console.camera.name}']")
    expect(card).to_contain_text("Online")
    picture = card.locator("img")
    expect(picture).to_have_attribute("data-snapshot", console.snapshot)
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i && i.naturalWidth === 320; }",
        arg=f"[data-camera='{console.camera.name}'] img",
    )
    shot(page, "surveillance-camera-grid")
    # The worker sends a new picture: the grid's next refresh shows it, without a reload.
    fresh = media.put(jpeg(colour=(200, 200, 40)))
    Camera.objects.filter(pk=console.camera.pk).update(snapshot=fresh)
    expect(picture).to_have_attribute("data-snapshot", fresh, timeout=15_000)


def test_the_event_page_plays_its_clip(open_page, console: Room, tmp_path):
    clip = media.put(webm_clip(tmp_path / "clip.webm", frames=36))
    event = make_event(console, clip=clip, clip_type="video/webm")
    page = open_page()
    sign_in(page, Role.SECURITY_OPERATOR.value)
    follow(page, "nav >> text=Video events")
    expect(page.locator(f"tr[data-event='{event.pk}'] svg.bbox rect")).to_have_count(1)
    shot(page, "surveillance-events")
    follow(page, f"tr[data-event='{event.pk}'] td.nowrap a")
    video = page.locator("video.clip")
    expect(video).to_be_visible()
    page.wait_for_function(
        "() => { const v = document.querySelector('video.clip');"
        " return v.readyState >= 1 && v.duration > 2; }"
    )
    page.evaluate(
        "() => { const v = document.querySelector('video.clip'); v.muted = true; return v.play(); }"
    )
    page.wait_for_function("() => document.querySelector('video.clip').currentTime > 0.2")
    assert page.evaluate("() => document.querySelector('video.clip').error") is None
    shot(page, "surveillance-event")


def test_an_operator_acknowledges_an_event(open_page, console: Room):
    event = make_event(console)
    page = open_page()
    sign_in(page, Role.SECURITY_OPERATOR.value)
    page.goto(f"/surveillance/events/{event.pk}/")
    page.fill("#id_note", "the cleaner, as every evening")
    page.click("button[value=acknowledge]")
    expect(page.locator(".alert-success")).to_contain_text("acknowledged")
    expect(page.locator("[data-state]").first).to_have_text("Acknowledged")
    handled = VideoEvent.objects.get(pk=event.pk)
    assert handled.state == "acknowledged" and handled.note == "the cleaner, as every evening"


def test_an_auditor_reads_the_drawing_without_tools(open_page, console: Room):
    page = open_page()
    sign_in(page, Role.AUDITOR.value)
    page.goto(f"/surveillance/cameras/{console.camera.name}/regions/")
    expect(page.locator("[data-tool]")).to_have_count(0)
    expect(page.locator("[data-action=save]")).to_have_count(0)


def test_a_manager_reshapes_a_zone_and_sets_its_hours(open_page, console: Room):
    from mailwarden.surveillance.services import cameras

    cameras.set_regions(
        ADMIN,
        console.camera.name,
        [cameras.RegionSpec("zone", "Counter", [(0.1, 0.1), (0.5, 0.1), (0.5, 0.5)])],
    )
    page = open_page()
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto(f"/surveillance/cameras/{console.camera.name}/regions/")
    page.click("[data-action=select][data-index='0']")
    # Drag the first corner to a new place.
    handle = page.locator("[data-vertex='0']")
    handle.wait_for(state="visible")
    box = page.locator("[data-canvas]").bounding_box()
    assert box is not None
    handle.hover()
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3, steps=5)
    page.mouse.up()
    expect(page.locator("[data-save-status]")).to_have_text("Unsaved changes")
    # After hours: weekdays 07:30-18:00 (Saturday added), and a second window.
    page.check("#rule-after_hours")
    page.click("label[for=window-0-sat]")
    page.fill("#window-0-start", "07:30")
    page.click("text=Add a window")
    page.fill("#window-1-start", "19:00")
    page.fill("#window-1-end", "21:00")
    page.click("[data-action=save]")
    expect(page.locator("[data-save-status]")).to_contain_text("Saved.")
    zone = Region.objects.get(kind="zone")
    assert near(zone.points, [(0.2, 0.3), (0.5, 0.1), (0.5, 0.5)]), zone.points
    hours = next(r for r in zone.rules if r["type"] == "after_hours")
    assert hours["schedule"] == [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
            "start": "07:30:00",
            "end": "18:00:00",
        },
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "19:00:00", "end": "21:00:00"},
    ]


def test_a_manager_adds_a_camera_and_a_refusal_names_its_field(open_page, console: Room):
    page = open_page()
    sign_in(page, Role.SECURITY_MANAGER.value)
    follow(page, "nav >> text=Cameras")
    follow(page, "text=Add a camera")
    page.fill("#id_name", "hall")
    page.fill("#id_label", "Hall")
    page.fill("#id_url", "rtsp://admin:pw@192.0.2.40/live")
    page.select_option("#id_worker", console.worker.name)
    page.click("main button[type=submit]")
    expect(page.locator("[data-field-error=url]")).to_contain_text("own fields")
    page.fill("#id_url", "rtsp://192.0.2.40/live")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    shot(page, "surveillance-camera-form")
    page.click("main button[type=submit]")
    page.wait_for_url("**/surveillance/cameras/hall/")
    expect(page.locator("h1")).to_have_text("Hall")
    expect(page.locator("main")).to_contain_text("Not reported yet")
    assert Camera.objects.get(name="hall").worker == console.worker
