"""The video event pages: the list with its filters and thumbnails, an event with its evidence
(the clip in parts, as a browser seeks), and acknowledging it, for each role."""

from __future__ import annotations

import pytest

from mailwarden.core import media
from mailwarden.core.downloads import byte_range
from mailwarden.core.roles import Role
from mailwarden.surveillance.models import VideoEvent
from tests.surveillance import console_fixtures
from tests.surveillance.console_fixtures import Room, make_event, webm_clip

pytestmark = pytest.mark.django_db

# The shared fixtures, bound here so pytest finds them in this module.
room = console_fixtures.room
person = console_fixtures.person
as_role = console_fixtures.as_role

READERS = [Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR]


@pytest.mark.parametrize("role", READERS)
def test_the_list_shows_new_events_with_a_boxed_thumbnail(as_role, room: Room, role):
    new = make_event(room, type="unattended", zone="Counter")
    make_event(room, type="crowding", state="acknowledged")
    page = as_role(role).get("/surveillance/events/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/surveillance/events/{new.pk}/snapshot.jpg" in html
    assert "Unattended" in html and "Counter" in html
    # Only new events unless asked: the acknowledged one waits under its own filter.
    assert "Crowding" not in html.split("<tbody>", 1)[1]
    # The box [80, 40, 160, 170] in a 320x180 frame, as fractions for the SVG over the picture.
    assert '<rect x="0.25" y="0.2222222222222222" width="0.25" height="0.7222222222222222"' in html


def test_the_list_filters_by_camera_type_and_state(as_role, room: Room):
    make_event(room, type="loitering")
    done = make_event(room, type="crowding", state="acknowledged")
    client = as_role(Role.SECURITY_OPERATOR)
    rows = client.get("/surveillance/events/?state=acknowledged").content.decode()
    assert f'data-event="{done.pk}"' in rows and "Loitering" not in rows.split("<tbody>", 1)[1]
    every = client.get("/surveillance/events/?state=any&type=loitering").content.decode()
    assert every.split("<tbody>", 1)[1].count("data-event=") == 1
    none = client.get("/surveillance/events/?camera=nope&state=any").content.decode()
    # An unknown camera is not a choice: the form falls back to new events.
    assert none.count("data-event=") == 1
    fragment = client.get("/surveillance/events/?state=any", headers={"HX-Request": "true"})
    assert fragment.content.decode().startswith('<section id="event-rows"')


def test_a_clerk_sees_no_event(as_role, room: Room):
    event = make_event(room)
    clerk = as_role(Role.CLERK)
    for url in (
        "/surveillance/events/",
        f"/surveillance/events/{event.pk}/",
        f"/surveillance/events/{event.pk}/snapshot.jpg",
        f"/surveillance/events/{event.pk}/clip",
    ):
        assert clerk.get(url).status_code == 403, url
    assert (
        clerk.post(
            f"/surveillance/events/{event.pk}/handle/", {"action": "acknowledge"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize("role", READERS)
def test_an_event_page_plays_its_clip_and_describes_it(as_role, room: Room, role, tmp_path):
    clip = media.put(webm_clip(tmp_path / "clip.webm"))
    event = make_event(
        room, clip=clip, clip_type="video/webm", detail={"seconds": 31.5, "people": 2}
    )
    client = as_role(role)
    html = client.get(f"/surveillance/events/{event.pk}/").content.decode()
    assert f'<source src="/surveillance/events/{event.pk}/clip" type="video/webm">' in html
    assert "Seconds" in html and "31.5" in html and "People" in html
    assert ("Acknowledge" in html) == (role != Role.AUDITOR)
    whole = client.get(f"/surveillance/events/{event.pk}/clip")
    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/webm"
    assert whole["Accept-Ranges"] == "bytes"
    assert whole.content == media.get(clip)


def test_the_clip_is_served_in_ranges(as_role, room: Room, tmp_path):
    data = webm_clip(tmp_path / "clip.webm")
    event = make_event(room, clip=media.put(data), clip_type="video/webm")
    client = as_role(Role.SECURITY_OPERATOR)
    url = f"/surveillance/events/{event.pk}/clip"
    part = client.get(url, headers={"Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 10-99/{len(data)}"
    assert part.content == data[10:100]
    tail = client.get(url, headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == data[-16:]
    rest = client.get(url, headers={"Range": "bytes=100-"})
    assert rest.content == data[100:]
    beyond = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(data)}"


def test_byte_ranges():
    assert byte_range("bytes=0-0", 10) == (0, 0)
    assert byte_range("bytes=5-100", 10) == (5, 9)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes=-0", 10) is None
    assert byte_range("bytes=9-3", 10) is None
    assert byte_range("items=0-1", 10) is None
    assert byte_range("bytes=0-1, 4-5", 10) == (0, 1)


def test_evidence_gone_from_the_store_is_said_not_broken(as_role, room: Room):
    event = make_event(room, snapshot="0" * 64, clip="1" * 64, clip_type="video/mp4")
    client = as_role(Role.SECURITY_OPERATOR)
    page = client.get(f"/surveillance/events/{event.pk}/")
    assert page.status_code == 200
    assert "No clip for this event" in page.content.decode()
    assert client.get(f"/surveillance/events/{event.pk}/clip").status_code == 404
    assert client.get(f"/surveillance/events/{event.pk}/snapshot.jpg").status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK])
def test_only_handlers_acknowledge(as_role, room: Room, role):
    event = make_event(room)
    answer = as_role(role).post(
        f"/surveillance/events/{event.pk}/handle/", {"action": "acknowledge", "note": "seen"}
    )
    assert answer.status_code == 403
    assert VideoEvent.objects.get(pk=event.pk).state == "new"


def test_a_bad_handling_request_changes_nothing(as_role, room: Room):
    event = make_event(room)
    answer = as_role(Role.SECURITY_OPERATOR).post(
        f"/surveillance/events/{event.pk}/handle/", {"action": "delete", "note": "x"}
    )
    assert answer.status_code == 400
    assert 'data-field-error="action"' in answer.content.decode()
    assert VideoEvent.objects.get(pk=event.pk).state == "new"


@pytest.mark.parametrize(
    ("action", "state"), [("acknowledge", "acknowledged"), ("false_positive", "false_positive")]
)
def test_an_operator_acknowledges_or_marks_a_false_positive(as_role, room: Room, action, state):
    event = make_event(room)
    client = as_role(Role.SECURITY_OPERATOR)
    answer = client.post(
        f"/surveillance/events/{event.pk}/handle/", {"action": action, "note": "the cleaner"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/surveillance/events/{event.pk}/"
    handled = VideoEvent.objects.get(pk=event.pk)
    assert handled.state == state and handled.note == "the cleaner"
    page = client.get(f"/surveillance/events/{event.pk}/").content.decode()
    assert "the cleaner" in page and 'value="acknowledge"' not in page
