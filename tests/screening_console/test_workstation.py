"""The screener's workstation: the image and its regions, the decisions and what they lead to,
the second screener, and scans uploaded from the console."""

from __future__ import annotations

import re

import pytest

from mailwarden.core import ledger
from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening import services
from mailwarden.screening.models import Decision, DecisionStatus, Scan, ScanSource
from tests.screening.conftest import MANAGER_A, encode, snapshot
from tests.screening_console.conftest import alerts, opened_token


def page(client, item) -> str:
    response = client.get(f"/screening/items/{item.uid}/")
    assert response.status_code == 200
    return response.content.decode()


def decide(client, item, decision: str, token: str = "", **fields):
    data = {"decision": decision, "opened": token, **fields}
    return client.post(f"/screening/items/{item.uid}/decide/", data)


def state_of(item) -> str:
    return MailItem.objects.get(pk=item.pk).state


def actions(item) -> list[str]:
    return [e.action for e in ledger.entries_for("mailitem", item.uid)]


# ----------------------------------------------------------------------------- the image


def test_the_image_views_and_region_boxes(signed_in, item, scanned):
    screener = signed_in(Role.SCREENER)
    body = page(screener, item)
    # A screener about to decide gets it from the workstation's own address (a test image, where
    # the training app projects one, comes from the same one); anyone else from the API.
    shown = f"/screening/items/{item.uid}/scans/{scanned.pk}/shown.png"
    assert f'src="{shown}"' in body
    assert screener.get(shown).content == screener.get(f"/api/scans/{scanned.pk}/image.png").content
    assert f'src="/api/scans/{scanned.pk}/image.png"' in page(signed_in(Role.AUDITOR), item)
    views = dict(re.findall(r'data-view="([a-z_]+)" data-src="([^"]+)" data-key="\d"', body))
    assert views["organic"] == f"/api/scans/{scanned.pk}/view/organic.png"
    assert views["variable_density"] == f"/api/scans/{scanned.pk}/view/variable_density.png"
    assert set(views) == {
        "pseudo",
        "organic",
        "inorganic",
        "high_penetration",
        "edge",
        "negative",
        "variable_density",
        "grey",
    }
    assert f'viewBox="0 0 {scanned.width} {scanned.height}"' in body
    # The region boxes are drawn over the image, in its own SVG (menu icons draw rects too).
    overlay = body.split(f'viewBox="0 0 {scanned.width} {scanned.height}"', 1)[1].split("</svg>")[0]
    boxes = re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"', overlay)
    assert len(boxes) == len(scanned.regions) >= 1
    row0, col0, row1, col1 = scanned.regions[0]["bbox"]
    assert boxes[0] == (str(col0), str(row0), str(col1 - col0), str(row1 - row0))
    # The regions list names each class, its score, the tier it alone gives, and why.
    assert "Knife" in body and scanned.regions[0]["reason"] in body
    assert re.search(r'data-region-row="1".*?tier tier-danger">high<', body, re.S)


def test_views_the_colour_composite_cannot_show_are_disabled(signed_in, item, colour_rgb):
    from mailwarden.screening import services
    from tests.screening_console.conftest import SCANNER

    services.import_scan(SCANNER, item.uid, services.ScanUpload(image=encode(colour_rgb, "PNG")))
    body = page(signed_in(Role.SCREENER), item)
    disabled = re.findall(r'data-view="([a-z_]+)"[^>]*disabled', body)
    assert set(disabled) == {"organic", "inorganic", "high_penetration", "variable_density", "grey"}


def test_an_item_without_a_scan_says_so(signed_in, item):
    body = page(signed_in(Role.SCREENER), item)
    assert "No X-ray scan yet" in body
    assert "data-decide" in body  # a screener may still decide from the checklist alone


# ----------------------------------------------------------------------------- decisions


def test_clear_clears_the_item_and_records_the_time_on_it(signed_in, item, frozen_clock):
    client = signed_in(Role.SCREENER)
    token = opened_token(page(client, item))
    frozen_clock.advance(seconds=42)
    response = decide(client, item, "clear", token)
    assert response.status_code == 302
    assert response["Location"] == f"/screening/items/{item.uid}/"
    assert state_of(item) == State.CLEARED
    assert actions(item)[-2:] == ["screening.decision.recorded", "custody.item.transitioned"]
    decision = Decision.objects.get(item=item)
    assert (decision.tier, decision.status, decision.screener) == (
        "low",
        "cleared",
        "user:screener",
    )
    assert decision.seconds_on_item == 42
    entry = ledger.entry_data(ledger.entries_for("mailitem", item.uid)[-2])
    assert entry["seconds_on_item"] == 42
    after = client.get(response["Location"]).content.decode()
    assert f"{item.uid} is cleared (low tier)." in after
    assert 'data-outcome data-tier="low" data-status="cleared"' in after
    assert "<span data-seconds-on-item>42 s on the item</span>" in after
    assert "data-decide" not in after  # nothing left to decide


def test_ticked_indicators_can_turn_clear_into_a_second_look(signed_in, item):
    client = signed_in(Role.SCREENER)
    token = opened_token(page(client, item))
    response = decide(
        client, item, "clear", token, indicators=["no-return-address", "misspelled-words"]
    )
    assert response.status_code == 302
    assert state_of(item) == State.AWAITING_SCREENING
    decision = Decision.objects.get(item=item)
    assert (decision.tier, decision.status) == ("elevated", DecisionStatus.PENDING)
    assert decision.indicators == ["misspelled-words", "no-return-address"]
    body = client.get(response["Location"]).content.decode()
    assert "second screener needed" in " ".join(alerts(body))
    assert "data-second-screener" in body
    # The screener who decided is told a different one must confirm, and gets no button.
    assert "You made this decision" in body
    assert "data-confirm-decision" not in body


def test_a_second_screener_confirms_and_the_item_is_cleared(signed_in, item):
    first = signed_in(Role.SCREENER, "sam")
    decide(first, item, "clear", opened_token(page(first, item)), indicators=["rigid-bulky"])
    decision = Decision.objects.get(item=item)
    second = signed_in(Role.SCREENER, "sky")
    body = page(second, item)
    assert f'data-pending="{decision.pk}"' in body and "data-confirm-decision" in body
    assert "by <strong>sam</strong>" in body
    response = second.post(f"/screening/items/{item.uid}/confirm/", {"decision_id": decision.pk})
    assert response.status_code == 302
    assert state_of(item) == State.CLEARED
    decision.refresh_from_db()
    assert (decision.status, decision.confirmed_by) == ("cleared", "user:sky")
    assert actions(item)[-2:] == ["screening.decision.confirmed", "custody.item.transitioned"]
    # The item's custody timeline names the screening steps in words, with the tier.
    detail = second.get(f"/items/{item.uid}/").content.decode()
    titles = re.findall(r'<div class="step-title">([^<]+)</div>', detail)
    assert titles[-3:] == [
        "Screening decision",
        "Decision confirmed by a second screener",
        "Cleared",
    ]
    assert "screening.decision" not in detail
    assert "<span>Tier: elevated</span>" in detail


def test_the_same_screener_cannot_confirm_their_own_decision(signed_in, item):
    client = signed_in(Role.SCREENER, "sam")
    decide(client, item, "clear", opened_token(page(client, item)), indicators=["rigid-bulky"])
    decision = Decision.objects.get(item=item)
    before = snapshot()
    response = client.post(f"/screening/items/{item.uid}/confirm/", {"decision_id": decision.pk})
    assert response.status_code == 403
    assert "cannot confirm it; a second screener must" in response.content.decode()
    assert snapshot() == before


def test_a_second_screener_who_disagrees_screens_again(signed_in, item):
    first = signed_in(Role.SCREENER, "sam")
    decide(first, item, "clear", opened_token(page(first, item)), indicators=["rigid-bulky"])
    second = signed_in(Role.SCREENER, "sky")
    response = decide(
        second, item, "quarantine", opened_token(page(second, item)), quarantine_reason="wires"
    )
    assert response.status_code == 302
    assert state_of(item) == State.QUARANTINED
    assert list(Decision.objects.order_by("id").values_list("status", flat=True)) == [
        "superseded",
        "quarantined",
    ]


def test_quarantine_needs_a_reason_and_changes_nothing_without_one(signed_in, item):
    client = signed_in(Role.SCREENER)
    token = opened_token(page(client, item))
    before = snapshot()
    response = decide(client, item, "quarantine", token, quarantine_reason="  ")
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field-error="quarantine_reason"' in body
    assert "say why you suspect the item" in body
    # The dialog the reason belongs in opens again, with the error in it.
    assert re.search(r'<dialog id="dialog-quarantine"[^>]*data-open-on-load', body)
    assert snapshot() == before


def test_suspicious_quarantines_with_the_reason_and_the_ticks(signed_in, item):
    client = signed_in(Role.SCREENER)
    response = decide(
        client,
        item,
        "quarantine",
        opened_token(page(client, item)),
        quarantine_reason="wires visible at one corner",
        indicators=["excessive-tape", "lopsided"],
    )
    assert response.status_code == 302
    moved = MailItem.objects.select_related("location").get(pk=item.pk)
    assert (moved.state, moved.location.code) == (State.QUARANTINED, "quarantine")
    decision = Decision.objects.get(item=item)
    assert (decision.tier, decision.raised_to, decision.status) == ("high", "high", "quarantined")
    assert decision.indicators == ["excessive-tape", "lopsided"]
    assert decision.notes.startswith("wires visible at one corner")
    transition = ledger.entry_data(ledger.entries_for("mailitem", item.uid)[-1])
    assert transition["to"] == "quarantined"
    body = client.get(response["Location"]).content.decode()
    assert "goes to quarantine" in body
    assert "data-decide" not in body


def test_threat_leaves_the_item_in_place_and_raises_the_alarm(signed_in, item):
    client = signed_in(Role.SCREENER)
    body = page(client, item)
    # The dialog asks first, and says what to do.
    assert re.search(r'<dialog id="dialog-threat".*?evacuate the room.*?value="threat"', body, re.S)
    response = decide(client, item, "threat", opened_token(body), threat_note="wires and a cell")
    assert response.status_code == 302
    held = MailItem.objects.select_related("location").get(pk=item.pk)
    assert (held.state, held.location.code) == (State.QUARANTINED, "dock")
    decision = Decision.objects.get(item=item)
    assert (decision.tier, decision.action) == ("critical", "evacuate")
    alarm = OutboxEvent.objects.get(topic="screening.alarm.raised")
    assert alarm.payload["uid"] == item.uid
    after = client.get(response["Location"]).content.decode()
    assert "data-evacuate" in after and "Do not open: suspected device" in after
    assert "DO NOT OPEN" in " ".join(alerts(after))


def test_a_high_finding_is_shown_before_any_decision_and_clear_asks_first(signed_in, item, scanned):
    client = signed_in(Role.SCREENER)
    body = page(client, item)
    banner = re.search(
        r'class="card ws-finding[^"]*" role="alert" data-finding-tier="high">(.*?)</section>',
        body,
        re.S,
    )
    assert banner, "the finding is not shown before the decision"
    assert "High X-ray finding" in banner.group(1) and "Knife (score" in banner.group(1)
    assert "it goes to quarantine" in banner.group(1)
    # Clear opens a dialog that says what will happen; the plain submit button is gone.
    assert 'data-open-dialog="dialog-clear" data-decision="clear"' in body
    dialog = re.search(r'<dialog id="dialog-clear".*?</dialog>', body, re.S)
    assert dialog and "stays at the high tier or above and goes to quarantine" in dialog.group(0)
    assert 'name="confirm_findings" value="on"' in dialog.group(0)


def test_clearing_over_a_high_finding_without_confirming_is_refused(signed_in, item, scanned):
    client = signed_in(Role.SCREENER)
    token = opened_token(page(client, item))
    before = snapshot()
    refused = decide(client, item, "clear", token)
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "the X-ray shows a high finding: knife" in body
    assert re.search(r'<dialog id="dialog-clear"[^>]*data-open-on-load', body)
    assert snapshot() == before and state_of(item) == State.AWAITING_SCREENING


def test_a_critical_finding_says_the_alarm_is_raised(signed_in, item, scanned):
    services.update_policy(
        MANAGER_A, item.site.code, services.PolicyUpdate(xray_tiers={"knife": "critical"})
    )
    body = page(signed_in(Role.SCREENER), item)
    assert 'data-finding-tier="critical"' in body and "Critical X-ray finding" in body
    dialog = re.search(r'<dialog id="dialog-clear".*?</dialog>', body, re.S)
    assert dialog and "The alarm is raised." in dialog.group(0)


def test_a_low_finding_clears_without_a_question(signed_in, item):
    body = page(signed_in(Role.SCREENER), item)
    assert "ws-finding" not in body and 'id="dialog-clear"' not in body
    assert 'name="decision" value="clear"' in body


def test_the_xray_finding_outranks_a_clear(signed_in, item, scanned):
    client = signed_in(Role.SCREENER)
    response = decide(
        client, item, "clear", opened_token(page(client, item)), confirm_findings="on"
    )
    assert response.status_code == 302
    assert state_of(item) == State.QUARANTINED
    decision = Decision.objects.get(item=item)
    assert decision.tier == "high" and decision.scan_ids == [scanned.pk]
    assert any(r.startswith("x-ray knife") for r in decision.reasons)


def test_a_decision_on_an_item_already_decided_is_refused(signed_in, item):
    client = signed_in(Role.SCREENER)
    token = opened_token(page(client, item))
    decide(client, item, "clear", token)
    before = snapshot()
    response = decide(client, item, "clear", token)
    assert response.status_code == 409
    assert "only items awaiting screening are screened" in response.content.decode()
    assert snapshot() == before


def test_a_forged_page_time_is_ignored(signed_in, item):
    client = signed_in(Role.SCREENER)
    decide(client, item, "clear", "forged:token")
    assert Decision.objects.get(item=item).seconds_on_item is None


# ----------------------------------------------------------------------------- scan upload


def test_a_pair_uploaded_from_the_console_is_analysed(signed_in, item, knife_pair):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(Role.SCREENER)
    response = client.post(
        f"/screening/items/{item.uid}/scans/",
        {
            "high": SimpleUploadedFile("p_high.tif", knife_pair.high),
            "low": SimpleUploadedFile("p_low.tif", knife_pair.low),
        },
    )
    assert response.status_code == 302
    scan = Scan.objects.get(item=item)
    assert (scan.source, scan.kind, scan.filename) == (ScanSource.CONSOLE, "pair", "p_high.tif")
    assert scan.regions
    body = client.get(response["Location"]).content.decode()
    assert f"Scan {scan.pk} imported" in body
    assert f'src="/screening/items/{item.uid}/scans/{scan.pk}/shown.png"' in body


@pytest.mark.parametrize(
    ("files", "field", "words"),
    [
        ({}, "image", "send an image"),
        ({"high": b"H"}, "low", "low-energy image of the pair is missing"),
        (
            {"image": b"not an image at all"},
            "image",
            "the file is not a readable image: it is not a TIFF, PNG, JPEG or BMP picture",
        ),
    ],
)
def test_upload_errors_are_shown_next_to_the_field(signed_in, item, files, field, words):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in(Role.SCREENER)
    before = snapshot()
    data = {name: SimpleUploadedFile(f"{name}.tif", content) for name, content in files.items()}
    response = client.post(f"/screening/items/{item.uid}/scans/", data)
    assert response.status_code == 400
    body = response.content.decode()
    error = re.search(rf'data-field-error="{field}">([^<]+)<', body)
    assert error, body
    assert words in error.group(1)
    assert snapshot() == before


# ----------------------------------------------------------------------------- item page


def test_the_item_page_links_to_the_workstation_instead_of_clearing(signed_in, item):
    body = signed_in(Role.SCREENER).get(f"/items/{item.uid}/").content.decode()
    assert f'href="/screening/items/{item.uid}/" data-screen-link' in body
    assert 'value="cleared"' not in body and 'value="quarantined"' not in body
    assert (
        "data-screen-link" not in signed_in(Role.CLERK).get(f"/items/{item.uid}/").content.decode()
    )


@pytest.mark.parametrize("target", ["cleared", "quarantined"])
def test_the_item_page_no_longer_clears_or_quarantines(signed_in, item, target):
    screener = signed_in(Role.SCREENER)
    before = snapshot()
    response = screener.post(
        f"/items/{item.uid}/transition/",
        {"target": target, "expected_version": item.version, "reason": "looked fine"},
    )
    assert response.status_code == 400
    assert "screening workstation" in response.content.decode()
    assert snapshot() == before
