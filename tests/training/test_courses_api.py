"""Courses in the API: a learner takes a course end to end; managers change courses, enrol
people, manage assignment rules and export xAPI statements; each role is held to its part."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.training.models import Certificate, Question
from mailwarden.training.xapi import NAMESPACE, problems
from tests.api.conftest import Api, assert_refused, token_for
from tests.factories import ADMIN, make_site

pytestmark = pytest.mark.django_db


def _person(username: str, role: Role, **kw: Any) -> tuple[User, Api]:
    user = create_user(
        ADMIN, username, password="x", roles=[role.value], check_password=False, **kw
    )
    return user, Api(token_for(role, user))


def _right(attempt: dict[str, Any]) -> list[list[int]]:
    out = []
    for q in attempt["questions"]:
        row = Question.objects.get(text=q["text"])
        out.append([i for i, c in enumerate(q["choices"]) if row.choices.index(c) in row.correct])
    return out


def _take(api: Api, slug: str, modules: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for position in range(1, modules + 1):
        started = api.post("/api/training/quizzes", {"course": slug, "module": position})
        assert started.status_code == 201, started.content
        attempt = started.json()
        assert all(q["right"] == [] for q in attempt["questions"])  # no answers given away
        submitted = api.post(
            f"/api/training/quizzes/{attempt['id']}/submit", {"answers": _right(attempt)}
        )
        assert submitted.status_code == 200, submitted.content
        body = submitted.json()
        assert body["passed"] is True
    return body


def test_a_learner_takes_a_course_through_the_api() -> None:
    _, api = _person("lea", Role.CLERK, first_name="Lea", last_name="Ng", email="lea@x.org")
    listed = api.get("/api/training/courses").json()
    assert {"suspicious-mail", "screener-certification"} <= {c["slug"] for c in listed}

    course = api.get("/api/training/courses/access-hygiene").json()
    assert course["status"] == "not_started" and len(course["modules"]) == 2
    text = api.get("/api/training/courses/access-hygiene/modules/1").json()
    assert "<strong>" in text["html"]

    last = _take(api, "access-hygiene", 2)
    code = last["certificate"]
    assert code and last["score"] == 100

    [mine] = api.get("/api/training/certificates/mine").json()
    assert mine["code"] == code and mine["status"] == "current" and mine["holder"] == "Lea Ng"
    assert mine["verify_url"].endswith(f"/training/verify/{code}/")
    pdf = api.get(f"/api/training/certificates/{code}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    checked = api.get(f"/api/training/certificates/{code.lower()}/verify").json()
    assert checked == {
        "holder": "Lea Ng",
        "course": "Access-control hygiene",
        "issued_at": mine["issued_at"],
        "expires_at": mine["expires_at"],
        "status": "valid",
    }
    [enrolment] = api.get("/api/training/enrolments/mine").json()
    assert enrolment["status"] == "completed"


def test_quiz_refusals_are_answers() -> None:
    _, api = _person("lea", Role.CLERK)
    assert_refused(
        api.post("/api/training/quizzes", {"course": "nope", "module": 1}), 404, "module"
    )
    attempt = api.post("/api/training/quizzes", {"course": "reporting-chain", "module": 1}).json()
    url = f"/api/training/quizzes/{attempt['id']}/submit"
    assert_refused(api.post(url, {"answers": [[0]]}), 400, "answers")
    assert api.post(url, {"answers": [[0], [0], [0]]}).status_code == 200
    assert_refused(api.post(url, {"answers": [[0], [0], [0]]}), 409, "attempt")
    _, other = _person("max", Role.CLERK)
    assert_refused(other.get(f"/api/training/quizzes/{attempt['id']}"), 404, "attempt")
    Question.objects.filter(course__slug="access-hygiene").update(active=False)
    body = assert_refused(
        api.post("/api/training/quizzes", {"course": "access-hygiene", "module": 1}), 400, "module"
    )
    assert body["message"] == "this quiz has no questions yet"


def test_someone_elses_pdf_is_not_found_but_an_auditor_may_see_it() -> None:
    _, learner = _person("lea", Role.CLERK)
    code = _take(learner, "access-hygiene", 2)["certificate"]
    _, other = _person("max", Role.CLERK)
    assert_refused(other.get(f"/api/training/certificates/{code}/pdf"), 404, "code")
    _, auditor = _person("aud", Role.AUDITOR)
    assert auditor.get(f"/api/training/certificates/{code}/pdf").status_code == 200


def test_managers_change_courses_enrol_people_and_revoke() -> None:
    learner, _ = _person("lea", Role.CLERK)
    _, manager = _person("boss", Role.SECURITY_MANAGER)
    changed = manager.patch("/api/training/courses/reporting-chain", {"pass_mark": 60}).json()
    assert changed["pass_mark"] == 60 and changed["active"] is True
    assert_refused(
        manager.patch("/api/training/courses/reporting-chain", {"renew_within_days": 3000}),
        400,
        "renew_within_days",
    )
    made = manager.post(
        "/api/training/courses/reporting-chain/enrolments",
        {"user_id": learner.pk, "reason": "new starter", "due_days": 14},
    )
    assert made.status_code == 201 and made.json()["user"] == "lea"
    withdrawn = manager.patch("/api/training/courses/reporting-chain", {"active": False}).json()
    assert withdrawn["active"] is False
    assert_refused(
        manager.post(
            "/api/training/courses/reporting-chain/enrolments",
            {"user_id": learner.pk, "reason": "again"},
        ),
        400,
        "course",
    )


def test_assignment_rules_crud() -> None:
    make_site("hq")
    _, manager = _person("boss", Role.SECURITY_MANAGER)
    made = manager.post(
        "/api/training/assignments", {"course": "mail-handling", "role": "clerk", "site": "hq"}
    )
    assert made.status_code == 201, made.content
    rule = made.json()
    assert rule["covers"] == "mailroom clerks at hq" and rule["due_days"] == 30
    assert_refused(
        manager.post("/api/training/assignments", {"course": "mail-handling", "site": "mars"}),
        404,
        "site",
    )
    changed = manager.put(
        f"/api/training/assignments/{rule['id']}", {"course": "mail-handling", "due_days": 10}
    ).json()
    assert changed["covers"] == "everyone" and changed["due_days"] == 10
    assert [r["id"] for r in manager.get("/api/training/assignments").json()] == [rule["id"]]
    assert manager.delete(f"/api/training/assignments/{rule['id']}").status_code == 204
    assert manager.get("/api/training/assignments").json() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/training/assignments", None),
        ("post", "/api/training/assignments", {"course": "mail-handling"}),
        ("patch", "/api/training/courses/mail-handling", {"pass_mark": 1}),
        ("post", "/api/training/courses/mail-handling/enrolments", {"user_id": 1, "reason": "x"}),
        ("post", "/api/training/certificates/AAAA-AAAA-AAAA/revoke", {"reason": "x"}),
        ("get", "/api/training/xapi/statements", None),
    ],
)
def test_learners_cannot_manage(method: str, path: str, body: Any) -> None:
    _, clerk = _person("lea", Role.CLERK)
    response = getattr(clerk, method)(path, body) if body is not None else clerk.get(path)
    assert_refused(response, 403, None)


def test_an_auditor_reads_rules_but_cannot_change_them() -> None:
    _, auditor = _person("aud", Role.AUDITOR)
    assert auditor.get("/api/training/assignments").status_code == 200
    assert_refused(
        auditor.post("/api/training/assignments", {"course": "mail-handling"}), 403, None
    )


def test_a_recipient_cannot_take_courses() -> None:
    _, recipient = _person("rec", Role.RECIPIENT)
    assert_refused(recipient.get("/api/training/courses"), 403, None)


def test_xapi_statements_are_valid_and_stable() -> None:
    _, learner = _person("lea", Role.CLERK, email="lea@example.org")
    _, other = _person("max", Role.SCREENER)  # no email: an account instead
    _take(learner, "access-hygiene", 2)
    _take(other, "reporting-chain", 2)
    _, auditor = _person("aud", Role.AUDITOR)
    first = auditor.get("/api/training/xapi/statements").json()
    again = auditor.get("/api/training/xapi/statements").json()
    assert first == again and len(first) == 2
    for statement in first:
        assert problems(statement) == []
        assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/passed"
        assert statement["result"]["success"] is True
        assert 0 <= statement["result"]["score"]["scaled"] <= 1
    by_name = {s["actor"]["name"]: s for s in first}
    lea = next(s for s in first if s["actor"].get("mbox") == "mailto:lea@example.org")
    assert "account" not in lea
    maxs = next(s for s in first if "account" in s["actor"])
    assert maxs["actor"]["account"]["name"] == "max"
    import uuid

    code = Certificate.objects.get(user__username="lea").code
    assert lea["id"] == str(uuid.uuid5(NAMESPACE, code))
    assert lea["object"]["id"].endswith("/training/courses/access-hygiene/")
    completed = auditor.get("/api/training/xapi/statements", verb="completed").json()
    assert {s["verb"]["id"] for s in completed} == {"http://adlnet.gov/expapi/verbs/completed"}
    assert {s["id"] for s in completed}.isdisjoint(s["id"] for s in first)
    only = auditor.get("/api/training/xapi/statements", course="reporting-chain").json()
    assert len(only) == 1 and by_name


def test_xapi_since_is_a_moment_with_its_offset_taken_in_utc() -> None:
    _, learner = _person("lea", Role.CLERK, email="lea@example.org")
    _take(learner, "access-hygiene", 2)
    _, auditor = _person("aud", Role.AUDITOR)
    # ISO 8601 allows offsets to 23:59; PostgreSQL stores only to 15:59, so it is read in UTC.
    far = auditor.get("/api/training/xapi/statements", since="3889-11-24T14:59:27-23:44")
    assert far.status_code == 200 and far.json() == []
    early = auditor.get("/api/training/xapi/statements", since="2001-01-01T00:00:00+23:30")
    assert early.status_code == 200 and len(early.json()) == 1
    assert_refused(
        auditor.get("/api/training/xapi/statements", since="2001-01-01T00:00:00"), 422, "since"
    )


def test_the_shape_check_finds_what_is_wrong() -> None:
    assert "id: must be a UUID" in problems({"id": "x"})
    assert any(p.startswith("actor") for p in problems({"actor": {}}))
    bad = {"result": {"score": {"scaled": 2, "raw": 5, "min": 0, "max": 4}}}
    found = problems(bad)
    assert "result.score.scaled: must be from -1 to 1" in found
    assert "result.score.raw: must lie between min and max" in found
