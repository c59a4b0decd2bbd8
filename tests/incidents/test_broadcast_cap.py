"""Site messages as CAP 1.2 (issue 12 point 6): every kind served at
``/api/broadcasts/{id}/cap`` validates against the OASIS schema, an exercise's message has status
Exercise, an all clear refers to the messages it ends, readers' roles only, and the board offers
the alert as a download."""

from __future__ import annotations

import pytest
from lxml import etree

from mailwarden.core.roles import Role
from mailwarden.incidents import cap
from mailwarden.incidents.models import Broadcast
from mailwarden.incidents.services import broadcasts as services
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents.broadcast_helpers import Town, evacuate, make_incident, make_town
from tests.incidents.conftest import OPERATOR
from tests.incidents.test_broadcast_console import signed_in

pytestmark = pytest.mark.django_db

NS = {"c": cap.NS}


@pytest.fixture
def town(frozen_clock) -> Town:
    return make_town()


def send(kind: str, **kw: object) -> Broadcast:
    return services.send_broadcast(OPERATOR, evacuate(kind=kind, **kw), confirm=True)


def served(broadcast: Broadcast, role: Role = Role.AUDITOR) -> etree._Element:
    response = Api(token_for(role)).get(f"/api/broadcasts/{broadcast.pk}/cap")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/xml")
    assert cap.validate(response.content) == []
    return etree.fromstring(response.content)


def one(root: etree._Element, name: str) -> str:
    return root.findtext(f"c:{name}", namespaces=NS) or ""


@pytest.mark.parametrize("kind", ["evacuate", "shelter", "avoid", "all_clear"])
def test_every_kind_is_served_as_valid_cap(town, kind):
    broadcast = send(kind)
    root = served(broadcast)
    assert one(root, "identifier") == f"mailwarden-broadcast-{broadcast.pk}"
    assert one(root, "status") == "Actual" and one(root, "msgType") == "Alert"
    info = root.find("c:info", NS)
    assert info is not None
    assert one(info, "responseType") == cap.KIND_PROFILES[kind].response
    assert one(info, "headline") == broadcast.headline
    geocode = info.find("c:area/c:geocode/c:value", NS)
    assert geocode is not None and geocode.text == "hq"


def test_an_exercise_message_has_status_exercise(town):
    drill = make_incident(town.hq, exercise=True)
    root = served(send("evacuate", incident=drill.pk))
    assert one(root, "status") == "Exercise"
    assert one(root, "note") == "EXERCISE EXERCISE EXERCISE"
    assert (root.findtext("c:info/c:headline", namespaces=NS) or "").startswith("EXERCISE: ")


def test_an_all_clear_refers_to_the_messages_it_ends(town, frozen_clock):
    cleared_before = send("evacuate")
    send("all_clear")
    frozen_clock.advance(minutes=5)
    shelter = send("shelter")
    frozen_clock.advance(minutes=5)
    avoid = send("avoid")
    send("evacuate", site="annex")  # another site's message is not ended here
    frozen_clock.advance(minutes=30)
    clear = send("all_clear")
    root = served(clear)
    assert one(root, "msgType") == "Update"
    references = one(root, "references").split()
    sender = services.cap_sender()
    assert references == [
        f"{sender},mailwarden-broadcast-{b.pk},{cap.cap_time(b.sent_at)}" for b in (avoid, shelter)
    ]
    assert f"mailwarden-broadcast-{cleared_before.pk}," not in one(root, "references")
    # An evacuation refers to nothing, even after an earlier all clear.
    assert one(served(shelter), "references") == ""


def test_the_alert_is_the_same_each_time(town):
    broadcast = send("evacuate")
    first = Api(token_for(Role.SECURITY_MANAGER)).get(f"/api/broadcasts/{broadcast.pk}/cap")
    again = Api(token_for(Role.SECURITY_OPERATOR)).get(f"/api/broadcasts/{broadcast.pk}/cap")
    assert first.content == again.content


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_roles_cannot_read_the_alert(town, role):
    broadcast = send("evacuate")
    assert_refused(Api(token_for(role)).get(f"/api/broadcasts/{broadcast.pk}/cap"), 403, None)


def test_an_unknown_message_is_404(town):
    assert_refused(
        Api(token_for(Role.AUDITOR)).get("/api/broadcasts/999999/cap"), 404, "broadcast_id"
    )


def test_the_board_offers_the_alert_as_a_download(town):
    broadcast = send("shelter")
    client = signed_in(Role.AUDITOR)
    board = client.get(f"/incidents/broadcasts/{broadcast.pk}/")
    url = f"/incidents/broadcasts/{broadcast.pk}/cap.xml"
    assert url in board.content.decode()
    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert cap.validate(download.content) == []
    assert signed_in(Role.CLERK).get(url).status_code == 403
    assert client.get("/incidents/broadcasts/999999/cap.xml").status_code == 404
