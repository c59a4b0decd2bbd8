"""Chain-of-custody exports: JSON that a third party can re-hash, and a real PDF document."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess

import pytest
from django.db import transaction

from mailwarden.core import canonical, ledger
from mailwarden.core.models import LedgerEntry
from mailwarden.custody import export, pickup, services
from mailwarden.custody.models import MailItem
from tests.conftest import service_missing
from tests.custody_services.conftest import snapshot
from tests.factories import CLERK, SCREENER, VALID_UPS


@pytest.fixture
def handed_over(site, recipient, frozen_clock) -> MailItem:
    """An item taken from intake to pickup, one step every 10 minutes."""
    item = services.intake(
        CLERK,
        services.IntakeRequest(
            site=site.code,
            recipient_id=recipient.pk,
            kind="parcel",
            tracking_number=VALID_UPS,
        ),
    )
    for step in (
        lambda: services.move(CLERK, item.uid, "xray", reason="to the scanner"),
        lambda: services.transition(SCREENER, item.uid, "cleared", reason="x-ray clear"),
        lambda: services.transition(CLERK, item.uid, "ready_for_pickup", reason="shelved"),
        lambda: services.hand_over(
            CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid)
        ),
    ):
        frozen_clock.advance(minutes=10)
        step()
    return MailItem.objects.get(pk=item.pk)


def test_json_has_every_step_in_order_with_hashes_that_chain(handed_over):
    record = export.custody_json(handed_over)
    entries = record["entries"]

    assert [e["action"] for e in entries] == [
        "custody.item.received",
        "custody.item.transitioned",
        "custody.item.moved",
        "custody.item.transitioned",
        "custody.item.transitioned",
        "custody.item.transitioned",
    ]
    assert [e["data"].get("to") for e in entries[3:]] == [
        "cleared",
        "ready_for_pickup",
        "picked_up",
    ]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs) == list(range(seqs[0], seqs[0] + len(seqs)))
    for before, after in zip([None, *entries], entries, strict=False):
        # What an outside auditor would do: re-hash the body, follow the link.
        assert (
            hashlib.sha256((after["prev_hash"] + after["body"]).encode()).hexdigest()
            == (after["hash"])
        )
        if before is not None:
            assert after["prev_hash"] == before["hash"]
        hashed = canonical.dumps(
            {
                "seq": after["seq"],
                "at": after["at"],
                "actor": after["actor"],
                "action": after["action"],
                "subject": f"mailitem:{handed_over.uid}",
                "data": after["data"],
            }
        )
        assert hashed == after["body"]
    assert record["verification"]["ok"] is True
    assert record["verification"]["entries_checked"] == len(entries)
    assert record["verification"]["problems"] == []
    assert record["ledger_head"]["hash"] == entries[-1]["hash"]
    assert record["item"]["uid"] == handed_over.uid
    assert record["item"]["state"] == "picked_up"
    assert record["item"]["tracking_number"] == VALID_UPS
    assert record["item"]["recipient"]["employee_id"] == handed_over.recipient.employee_id


def test_json_verification_reports_a_tampered_entry(handed_over):
    entries = ledger.entries_for("mailitem", handed_over.uid)
    target = entries[2]
    LedgerEntry.objects.filter(pk=target.pk).update(body=target.body.replace("xray", "roof"))

    verification = export.custody_json(handed_over)["verification"]

    assert verification["ok"] is False
    assert verification["problems"] == [
        {"seq": target.seq, "kind": "changed", "detail": "its content does not match its hash"}
    ]


def test_export_changes_nothing(handed_over):
    before = snapshot()
    export.custody_json(handed_over)
    export.custody_pdf(handed_over)
    assert snapshot() == before


def pdf_text(data: bytes) -> str:
    """The PDF's text, via pypdf if installed, else poppler's pdftotext."""
    try:
        from pypdf import PdfReader
    except ImportError:
        if shutil.which("pdftotext") is None:
            service_missing("reading PDF text needs pypdf or poppler's pdftotext")
        done = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
        )
        return done.stdout.decode()
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_pages_and_producer(data: bytes) -> tuple[int, str]:
    try:
        from pypdf import PdfReader
    except ImportError:
        if shutil.which("pdfinfo") is None:
            service_missing("reading PDF metadata needs pypdf or poppler's pdfinfo")
        info = subprocess.run(
            ["pdfinfo", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        return int(fields["Pages"]), fields["Producer"].strip()
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), str(reader.metadata.producer)


def test_pdf_is_a_readable_chain_of_custody_document(handed_over):
    data = export.custody_pdf(handed_over)

    assert data.startswith(b"%PDF-")
    pages, producer = pdf_pages_and_producer(data)
    assert pages >= 1
    assert "WeasyPrint" in producer
    text = " ".join(pdf_text(data).split())
    assert "CHAIN OF CUSTODY" in text  # the title is set in capitals by the stylesheet
    assert handed_over.uid in text
    assert handed_over.recipient.display_name in text
    assert VALID_UPS in text
    # Times are in the site's zone: the fixture's 09:00 UTC start is 09:00 GMT in London.
    assert "2026-03-02 09:00:00 GMT" in text
    assert "Awaiting screening → Cleared" in text
    assert "x-ray clear" in text
    for entry in ledger.entries_for("mailitem", handed_over.uid):
        assert entry.hash[:12] in text
    assert "Verified: the 6 entries above hash correctly" in text
    head = export.custody_json(handed_over)["ledger_head"]["hash"]
    assert head[:32] in text.replace(" ", "")


def test_pdf_shows_a_failed_verification(handed_over):
    entry = ledger.entries_for("mailitem", handed_over.uid)[1]
    LedgerEntry.objects.filter(pk=entry.pk).update(actor="user:nobody")
    text = " ".join(pdf_text(export.custody_pdf(handed_over)).split())
    assert "VERIFICATION FAILED" in text
    assert f"entry {entry.seq} changed" in text


def test_pdf_escapes_what_people_typed(site, recipient):
    item = services.intake(
        CLERK,
        services.IntakeRequest(
            site=site.code,
            recipient_id=recipient.pk,
            kind="letter",
            sender='<img src="http://127.0.0.1:1/x.png"> & Co',
        ),
    )
    html = export.custody_html(item)
    assert "&lt;img src=" in html
    assert "<img" not in html
    assert export.custody_pdf(item).startswith(b"%PDF-")


def test_the_document_names_people_and_actions_in_words(handed_over):
    from django.contrib.auth.models import User

    from mailwarden.core.services import create_user
    from tests.factories import ADMIN

    create_user(ADMIN, "clerk", password="x", roles=["clerk"], check_password=False)
    User.objects.filter(username="clerk").update(first_name="Carla", last_name="Diaz")
    with transaction.atomic():
        ledger.append(SCREENER, "screening.scan", "mailitem", handed_over.uid, {})
        ledger.append(SCREENER, "screening.label.reprinted", "mailitem", handed_over.uid, {})
    html = " ".join(export.custody_html(handed_over).split())
    assert "<td>Carla Diaz</td>" in html
    assert "X-ray image stored" in html and "Label reprinted" in html
    assert "user:" not in html and "screening.scan" not in html and "screening.label" not in html
