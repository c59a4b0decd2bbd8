"""Carriers' advance manifests: imported as expected parcels, matched at intake, and listed
while they have not arrived."""

from __future__ import annotations

from datetime import date

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.custody import manifests
from mailwarden.custody.models import ExpectedParcel
from tests.api.conftest import snapshot
from tests.custody_batch.conftest import numbers
from tests.factories import AUDITOR, CLERK, SCREENER, intake, make_recipient


def csv_of(*rows: str, header: str = "tracking_number,carrier,recipient,expected_date") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_a_manifest_imports_its_good_rows_and_names_each_bad_one(site, recipient):
    other = make_recipient(employee_id="E777")
    good = numbers(4)
    data = csv_of(
        f"{good[0]},ups,{recipient.email.upper()},2026-12-08",
        f"{good[1]},UPS,E777,",
        "1Z999,ups,E777,2026-12-08",
        f"{good[2]},fedex,E777,2026-12-08",
        f"{good[3]},ups,nobody@example.org,2026-12-08",
        f"{good[3]},ups,E777,8.12.2026",
        "",
        f"{good[0]},ups,E777,2026-12-09",
    )
    result = manifests.import_manifest(CLERK, "hq", "ups-monday.csv", data)
    assert result.expected == 2
    assert result.manifest.startswith("ups-monday.csv (")
    assert [(e.row, e.field) for e in result.errors] == [
        (4, "tracking_number"),
        (5, "carrier"),
        (6, "recipient"),
        (7, "expected_date"),
        (9, "tracking_number"),
    ]
    assert result.errors[-1].reason == "is already expected"
    parcels = {p.tracking_number: p for p in ExpectedParcel.objects.all()}
    assert parcels[good[0]].recipient_id == recipient.pk
    assert parcels[good[0]].expected_on == date(2026, 12, 8)
    assert parcels[good[1]].recipient_id == other.pk and parcels[good[1]].expected_on is None
    (entry,) = LedgerEntry.objects.filter(subject_type="manifest")
    assert entry.action == "custody.manifest.imported"
    assert ledger.entry_data(entry)["expected"] == [good[0], good[1]]
    assert OutboxEvent.objects.filter(topic="custody.manifest.imported").count() == 1
    assert ledger.verify().ok


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "the file is empty"),
        (b"number,who\n1,2\n", "the header row lacks tracking_number, recipient"),
        (b"\xff\xfe\x00t", "not UTF-8"),
        (b"x" * (manifests.MAX_BYTES + 1), "at most"),
    ],
)
def test_a_file_that_is_no_manifest_is_refused_whole(site, data, why):
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        manifests.import_manifest(CLERK, "hq", "x.csv", data)
    assert refused.value.field == "file"
    assert why in refused.value.message
    assert snapshot() == before
    assert not ExpectedParcel.objects.exists()


def test_only_intake_roles_import_and_staff_see_the_list(site, recipient):
    data = csv_of(f"{numbers(1)[0]},ups,{recipient.employee_id},")
    for actor in (SCREENER, AUDITOR):
        with pytest.raises(Forbidden):
            manifests.import_manifest(actor, "hq", "m.csv", data)
    manifests.import_manifest(CLERK, "hq", "m.csv", data)
    assert manifests.not_arrived(AUDITOR).count() == 1


def test_a_scan_of_an_expected_number_matches_and_leaves_the_list(site, recipient):
    first, second = numbers(2)
    manifests.import_manifest(
        CLERK,
        "hq",
        "m.csv",
        csv_of(f"{first},ups,{recipient.email},", f"{second},ups,{recipient.email},"),
    )
    found = manifests.expected_for(CLERK, first.lower())
    assert found is not None and found.recipient_id == recipient.pk
    item = intake(site, recipient, tracking_number=first)
    parcel = ExpectedParcel.objects.get(tracking_number=first)
    assert parcel.item_id == item.pk and parcel.arrived_at is not None
    assert [p.tracking_number for p in manifests.not_arrived(CLERK)] == [second]
    assert manifests.expected_for(CLERK, first) is None
    received = ledger.entries_for("mailitem", item.uid)[0]
    assert ledger.entry_data(received)["manifest"] == parcel.manifest


def test_a_batch_intake_matches_expected_parcels_too(clerk, site, recipient):
    first, second = numbers(2)
    manifests.import_manifest(CLERK, "hq", "m.csv", csv_of(f"{first},ups,{recipient.email},"))
    body = {
        "items": [
            {"site": "hq", "recipient_id": recipient.pk, "kind": "parcel", "tracking_number": n}
            for n in (first, second)
        ]
    }
    uid = clerk.post("/api/items/batch", body).json()["created"][0]["uid"]
    parcel = ExpectedParcel.objects.select_related("item").get(tracking_number=first)
    assert parcel.item is not None and parcel.item.uid == uid
    assert not manifests.not_arrived(CLERK).exists()
    assert ledger.verify().ok


def test_the_api_imports_a_manifest_and_lists_what_has_not_arrived(as_role, site, recipient):
    from django.core.files.uploadedfile import SimpleUploadedFile

    clerk, auditor, screener = (as_role(r) for r in (Role.CLERK, Role.AUDITOR, Role.SCREENER))
    good = numbers(1)[0]
    upload = SimpleUploadedFile("m.csv", csv_of(f"{good},ups,{recipient.email},", "1Z1,ups,x,"))
    response = clerk.client.post(
        "/api/manifests", {"site": "hq", "file": upload}, headers=clerk.headers
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["expected"] == 1
    assert answer["errors"] == [
        {"row": 3, "field": "tracking_number", "reason": answer["errors"][0]["reason"]}
    ]
    upload = SimpleUploadedFile("m.csv", csv_of(f"{good},ups,{recipient.email},"))
    refused = screener.client.post(
        "/api/manifests", {"site": "hq", "file": upload}, headers=screener.headers
    )
    assert refused.status_code == 403
    listed = auditor.get("/api/expected").json()
    assert [p["tracking_number"] for p in listed] == [good]
    assert listed[0]["recipient"]["id"] == recipient.pk
    assert auditor.get("/api/expected", tracking_number=good.lower()).json()[0]["site"] == "hq"
    assert auditor.get("/api/expected", site="hq", tracking_number="1Z0").json() == []
    bad_site = SimpleUploadedFile("m.csv", csv_of(f"{good},ups,{recipient.email},"))
    missing = clerk.client.post(
        "/api/manifests", {"site": "zz", "file": bad_site}, headers=clerk.headers
    )
    assert missing.status_code == 400 and missing.json()["field"] == "site"
