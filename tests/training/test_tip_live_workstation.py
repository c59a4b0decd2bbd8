"""Live TIP on the screening workstation's pages: the projected image in place of the scan's
rendering, the answer taken before any decision, the message, and the real image after."""

from __future__ import annotations

import re

import pytest

from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening.models import Decision
from mailwarden.training.models import TipOutcome, TipTrial
from tests.training.conftest_e import *  # noqa: F403

pytestmark = pytest.mark.django_db


def page(client, uid: str) -> str:
    response = client.get(f"/screening/items/{uid}/")
    assert response.status_code == 200
    return response.content.decode()


def image_src(body: str) -> str:
    found = re.search(r'<img class="ws-image" data-image src="([^"]+)"', body)
    assert found
    return found.group(1)


def opened(body: str) -> str:
    found = re.search(r'name="opened" value="([^"]+)"', body)
    assert found
    return found.group(1)


def messages_of(client, uid: str) -> str:
    return re.sub(r"\s+", " ", page(client, uid))


def test_the_workstation_shows_the_test_image_and_a_clear_is_a_miss(
    live_site, scan, signed_in, projecting
):
    client = signed_in(Role.SCREENER)
    uid = scan.item.uid
    body = page(client, uid)
    src = image_src(body)
    assert src == f"/screening/items/{uid}/scans/{scan.pk}/shown.png"
    image = client.get(src)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    # The views drawn from the scan's own files wait for the answer.
    assert re.search(r'data-view="organic"[^>]*disabled', body)
    assert 'name="mark"' in body
    response = client.post(
        f"/screening/items/{uid}/decide/", {"decision": "clear", "opened": opened(body)}
    )
    assert response.status_code == 302
    assert not Decision.objects.exists()
    assert MailItem.objects.get(uid=uid).state == State.AWAITING_SCREENING
    assert TipTrial.objects.get().outcome == TipOutcome.MISS
    after = messages_of(client, uid)
    assert "This was a test image: a knife was projected" in after
    assert "you did not flag it" in after
    # The real image is back, from the same address (the page never tells the two apart),
    # and the next answer is a real decision.
    assert image_src(after) == src
    assert client.get(src).content != image.content
    assert 'data-view="organic"' in after
    assert not re.search(r'data-view="organic"[^>]*disabled', after)
    response = client.post(
        f"/screening/items/{uid}/decide/", {"decision": "clear", "opened": opened(after)}
    )
    assert response.status_code == 302
    assert Decision.objects.count() == 1


def test_a_mark_on_the_threat_with_a_raise_is_a_hit(live_site, scan, signed_in, projecting):
    client = signed_in(Role.SCREENER)
    uid = scan.item.uid
    body = page(client, uid)
    x0, y0, x1, y1 = TipTrial.objects.get().bbox
    mark = f"{(x0 + x1) / 2:.4f},{(y0 + y1) / 2:.4f}"
    response = client.post(
        f"/screening/items/{uid}/decide/",
        {
            "decision": "quarantine",
            "quarantine_reason": "a blade",
            "opened": opened(body),
            "mark": mark,
        },
    )
    assert response.status_code == 302
    assert TipTrial.objects.get().outcome == TipOutcome.HIT
    assert not Decision.objects.exists()
    assert MailItem.objects.get(uid=uid).state == State.AWAITING_SCREENING
    assert "Well found. Now screen the item itself" in messages_of(client, uid)


def test_a_mark_alone_then_clear_counts_as_a_threat_answer(live_site, scan, signed_in, projecting):
    client = signed_in(Role.SCREENER)
    uid = scan.item.uid
    body = page(client, uid)
    x0, _y0, _x1, y1 = TipTrial.objects.get().bbox
    client.post(
        f"/screening/items/{uid}/decide/",
        {"decision": "clear", "opened": opened(body), "mark": f"{x0:.4f},{y1:.4f}"},
    )
    trial = TipTrial.objects.get()
    assert (trial.response, trial.outcome) == ("threat", TipOutcome.HIT)


def test_an_auditor_sees_the_real_image(live_site, scan, signed_in, projecting):
    body = page(signed_in(Role.AUDITOR), scan.item.uid)
    assert "shown.png" not in image_src(body)
    assert not TipTrial.objects.exists()


def test_an_item_with_no_test_image_comes_from_the_same_address(
    live_site, scan, signed_in, not_projecting
):
    client = signed_in(Role.SCREENER)
    uid = scan.item.uid
    body = page(client, uid)
    src = image_src(body)
    assert src == f"/screening/items/{uid}/scans/{scan.pk}/shown.png"
    own = client.get(f"/api/scans/{scan.pk}/image.png")
    assert own.status_code == 200
    assert client.get(src).content == own.content
    assert not TipTrial.objects.exists()
    # Another item's scan is not shown through this item's address.
    assert client.get(f"/screening/items/MW-NOTHERE/scans/{scan.pk}/shown.png").status_code == 404
