"""Treatments and findings in the API: planned, approved by a second security manager, moved
on and rescheduled; findings recorded, photographed, confirmed and dismissed; auditors read,
other roles are refused, and every refusal is JSON naming its field."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.risk.models import Finding, FindingPhoto, Treatment
from tests.api.conftest import Api, assert_refused, png, token_for
from tests.risk import treatment_fixtures
from tests.risk.treatment_fixtures import Office, finalise

office = treatment_fixtures.office
upload_limits = treatment_fixtures.upload_limits

PLAN = {
    "kind": "mitigate",
    "description": "Two-person rule on the quarantine door",
    "owner": "olly",
    "due": "2026-03-20",
}


@pytest.fixture
def apis(office: Office) -> dict[str, Api]:
    return {
        "mia": Api(token_for(Role.SECURITY_MANAGER, office.mia)),
        "sam": Api(token_for(Role.SECURITY_MANAGER, office.sam)),
        "aud": Api(token_for(Role.AUDITOR, office.aud)),
        "clerk": Api(token_for(Role.CLERK)),
    }


def test_plan_approve_and_move_on(office, apis):
    mia, sam, aud = apis["mia"], apis["sam"], apis["aud"]
    url = f"/api/risk/risks/{office.risk.pk}/treatments"
    made = mia.post(url, PLAN)
    assert made.status_code == 201, made.content
    mitigation = made.json()
    assert (mitigation["status"], mitigation["owner"], mitigation["owner_name"]) == (
        "planned",
        "olly",
        "Olly Owens",
    )
    assert mitigation["next_statuses"] == ["in_progress", "done", "cancelled"]
    assert mitigation["overdue"] is False and mitigation["site"] == "hq"

    acceptance = mia.post(url, {**PLAN, "kind": "accept", "description": "Accept it"}).json()
    assert acceptance["status"] == "proposed"
    assert_refused(mia.post(f"/api/risk/treatments/{acceptance['id']}/approve"), 403, "approver")
    assert_refused(aud.post(f"/api/risk/treatments/{acceptance['id']}/approve"), 403, None)
    approved = sam.post(f"/api/risk/treatments/{acceptance['id']}/approve")
    assert approved.status_code == 200, approved.content
    assert approved.json()["approved_by"] == "sam"
    assert approved.json()["risk_state"] == "treated"

    done = mia.post(f"/api/risk/treatments/{mitigation['id']}/status", {"status": "done"})
    assert done.json()["status"] == "done"
    assert_refused(
        mia.post(f"/api/risk/treatments/{mitigation['id']}/reschedule", {"due": "2026-05-01"}),
        409,
        "treatment",
    )

    listed = aud.get(url).json()
    assert [t["kind"] for t in listed] == ["mitigate", "accept"]
    assert aud.get(f"/api/risk/treatments/{mitigation['id']}").json()["status"] == "done"
    assert [t["id"] for t in aud.get("/api/risk/treatments", status="done", site="hq").json()] == [
        mitigation["id"],
        acceptance["id"],
    ]


def test_overdue_filter_and_reschedule(office, apis, frozen_clock):
    mia = apis["mia"]
    first = mia.post(f"/api/risk/risks/{office.risk.pk}/treatments", PLAN).json()
    later = mia.post(
        f"/api/risk/risks/{office.risk.pk}/treatments", {**PLAN, "due": "2026-06-01"}
    ).json()
    frozen_clock.advance(days=30)
    overdue = mia.get("/api/risk/treatments", overdue="true").json()
    assert [t["id"] for t in overdue] == [first["id"]] and overdue[0]["overdue"] is True
    assert [t["id"] for t in mia.get("/api/risk/treatments", overdue="false").json()] == [
        later["id"]
    ]
    moved = mia.post(
        f"/api/risk/treatments/{first['id']}/reschedule", {"due": "2026-04-15", "owner": "sam"}
    ).json()
    assert (moved["due"], moved["owner"], moved["overdue"]) == ("2026-04-15", "sam", False)
    assert mia.get("/api/risk/treatments", owner="sam").json()[0]["id"] == first["id"]
    paged = mia.get("/api/risk/treatments", limit=1, offset=1).json()
    assert [t["id"] for t in paged] == [later["id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**PLAN, "owner": "nobody"}, 404, "owner"),
        ({**PLAN, "due": "2026-03-01"}, 400, "due"),
        ({**PLAN, "kind": "avoid", "control": 5}, 400, "control"),
        ({**PLAN, "control": 99999}, 404, "control"),
    ],
)
def test_bad_plans_are_refused_by_field(office, apis, body, status, field):
    response = apis["mia"].post(f"/api/risk/risks/{office.risk.pk}/treatments", body)
    assert_refused(response, status, field)
    assert not Treatment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {**PLAN, "kind": "ignore"},
        {**PLAN, "due": 20260320},
        {**PLAN, "description": ""},
        {k: v for k, v in PLAN.items() if k != "owner"},
    ],
)
def test_malformed_plans_are_refused_by_the_schema(office, apis, body):
    response = apis["mia"].post(f"/api/risk/risks/{office.risk.pk}/treatments", body)
    assert response.status_code in (400, 422), response.content
    assert not Treatment.objects.exists()


def test_unknown_rows_and_filters_are_named(office, apis):
    mia = apis["mia"]
    assert_refused(mia.get("/api/risk/treatments/99999"), 404, "treatment")
    assert_refused(mia.get("/api/risk/risks/99999/treatments"), 404, "risk")
    assert_refused(mia.post("/api/risk/risks/99999/treatments", PLAN), 404, "risk")
    assert_refused(mia.get("/api/risk/treatments", site="nowhere"), 404, "site")
    assert_refused(mia.get("/api/risk/assessments/99999/findings"), 404, "assessment")
    assert_refused(mia.get("/api/risk/findings/99999"), 404, "finding")
    assert_refused(mia.get("/api/risk/findings/99999/photos/1"), 404, "photo")


def test_clerks_are_refused_and_auditors_only_read(office, apis):
    clerk, aud = apis["clerk"], apis["aud"]
    treatment = apis["mia"].post(f"/api/risk/risks/{office.risk.pk}/treatments", PLAN).json()
    for api in (clerk, aud):
        assert_refused(api.post(f"/api/risk/risks/{office.risk.pk}/treatments", PLAN), 403, None)
        assert_refused(
            api.post(f"/api/risk/treatments/{treatment['id']}/status", {"status": "done"}),
            403,
            None,
        )
        assert_refused(
            api.post(f"/api/risk/assessments/{office.assessment.pk}/findings", {"title": "x"}),
            403,
            None,
        )
    assert_refused(clerk.get("/api/risk/treatments"), 403, None)
    assert_refused(clerk.get(f"/api/risk/assessments/{office.assessment.pk}/findings"), 403, None)
    assert aud.get("/api/risk/treatments").status_code == 200
    assert Treatment.objects.get().status == "planned"


def test_findings_with_photos_and_states(office, apis):
    mia, aud = apis["mia"], apis["aud"]
    url = f"/api/risk/assessments/{office.assessment.pk}/findings"
    made = mia.post(url, {"title": "Side door propped open", "notes": "07:40, a wedge"})
    assert made.status_code == 201, made.content
    finding = made.json()
    assert (finding["source"], finding["state"], finding["photos"]) == ("manual", "confirmed", [])

    image = png(40, 30)
    added = mia.client.post(
        f"/api/risk/findings/{finding['id']}/photos",
        {"photo": _file(image), "caption": "The wedge"},
        headers=mia.headers,
    )
    assert added.status_code == 201, added.content
    photo = added.json()
    assert (photo["content_type"], photo["caption"]) == ("image/png", "The wedge")
    sent = aud.get(photo["url"])
    assert sent.status_code == 200 and sent.content == image
    assert sent["Content-Type"] == "image/png"

    dismissed = mia.post(
        f"/api/risk/findings/{finding['id']}/state", {"state": "dismissed", "notes": "Cleaners"}
    ).json()
    assert dismissed["state"] == "dismissed" and dismissed["notes"].endswith("Cleaners")
    assert_refused(
        mia.post(f"/api/risk/findings/{finding['id']}/state", {"state": "dismissed"}),
        409,
        "state",
    )
    assert [f["id"] for f in aud.get(url, state="dismissed").json()] == [finding["id"]]
    assert aud.get(url, source="automatic").json() == []
    got = aud.get(f"/api/risk/findings/{finding['id']}").json()
    assert [p["caption"] for p in got["photos"]] == ["The wedge"]


def _file(data: bytes, name: str = "photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def test_bad_photos_and_a_finalised_assessment_are_refused(office, apis, upload_limits):
    mia = apis["mia"]
    finding = mia.post(
        f"/api/risk/assessments/{office.assessment.pk}/findings", {"title": "x"}
    ).json()
    url = f"/api/risk/findings/{finding['id']}/photos"
    junk = mia.client.post(url, {"photo": _file(b"not an image")}, headers=mia.headers)
    assert_refused(junk, 400, "photo")
    upload_limits.max_pixels = 1024
    big = mia.client.post(url, {"photo": _file(png(64, 64))}, headers=mia.headers)
    assert_refused(big, 400, "photo")
    upload_limits.max_bytes = 1024
    huge = mia.client.post(url, {"photo": _file(b"x" * 5000)}, headers=mia.headers)
    assert_refused(huge, 400, "photo")
    assert not FindingPhoto.objects.exists()

    finalise(office.assessment)
    assert_refused(
        mia.post(f"/api/risk/assessments/{office.assessment.pk}/findings", {"title": "y"}),
        409,
        "assessment",
    )
    assert Finding.objects.count() == 1
