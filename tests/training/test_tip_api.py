"""TIP training through the API: a whole session, refusals with the field at fault, roles."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.training.models import TipSession
from tests.api.conftest import Api, token_for
from tests.training import conftest_c

pytestmark = pytest.mark.django_db

person = conftest_c.person  # a fixture


@pytest.fixture
def api(person) -> Api:
    return Api(token_for(Role.SCREENER, person(Role.SCREENER, "api-screener")))


def test_a_session_through_the_api(api: Api) -> None:
    mine = api.get("/api/training/tip/me").json()
    assert mine["measures"]["note"] == "no trials yet" and mine["measures"]["dprime"] is None
    assert mine["levels"] == {"knife": 1, "gun": 1, "ied": 1, "explosive": 1}
    started = api.post(
        "/api/training/tip/sessions",
        {"size": 2, "threat_share": 1.0, "categories": ["knife"], "seed": 3},
    )
    assert started.status_code == 201, started.content
    session = started.json()
    assert session["summary"] is None and session["categories"] == ["knife"]
    trial = api.post(f"/api/training/tip/sessions/{session['id']}/next").json()
    assert "bbox" not in trial  # not before the answer
    image = api.get(trial["image_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert api.post(f"/api/training/tip/sessions/{session['id']}/next").json()["id"] == trial["id"]
    missed = api.post(
        f"/api/training/tip/trials/{trial['id']}/answer", {"response": "threat", "mark": [0, 0]}
    ).json()
    assert missed["outcome"] == "miss" and missed["bbox"] is not None
    assert len(missed["bbox"]) == 4
    second = api.post(f"/api/training/tip/sessions/{session['id']}/next").json()
    answer = api.post(f"/api/training/tip/trials/{second['id']}/answer", {"response": "clear"})
    assert answer.json()["session_done"] is True
    assert api.post(f"/api/training/tip/sessions/{session['id']}/next").status_code == 404
    done = api.get(f"/api/training/tip/sessions/{session['id']}").json()
    assert done["answered"] == 2 and done["summary"]["by_category"]["knife"] == {
        "hits": 0,
        "shown": 2,
    }
    assert done["summary"]["measures"]["note"].startswith("no clean images")
    again = api.post(f"/api/training/tip/trials/{second['id']}/answer", {"response": "clear"})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"size": 0}, "size"),
        ({"threat_share": 2}, "threat_share"),
        ({"categories": ["spoon"]}, "categories"),
        ({"size": "ten"}, "size"),
    ],
)
def test_bad_sessions_are_refused_naming_the_field(api: Api, body: dict, field: str) -> None:
    response = api.post("/api/training/tip/sessions", body)
    assert response.status_code in (400, 422)
    assert field in response.content.decode()
    assert not TipSession.objects.exists()


def test_bad_answers_are_refused_naming_the_field(api: Api) -> None:
    session = api.post("/api/training/tip/sessions", {"size": 1, "threat_share": 1.0}).json()
    trial = api.post(f"/api/training/tip/sessions/{session['id']}/next").json()
    url = f"/api/training/tip/trials/{trial['id']}/answer"
    for body, field in (
        ({"response": "threat"}, "mark"),
        ({"response": "maybe"}, "response"),
        ({"response": "threat", "mark": [0.5, 1.5]}, "mark"),
        ({"response": "threat", "mark": [0.5]}, "mark"),
        ({"response": "clear", "response_ms": -5}, "response_ms"),
    ):
        response = api.post(url, body)
        assert response.status_code in (400, 422), body
        assert field in response.content.decode(), body
    assert api.get(f"/api/training/tip/sessions/{session['id']}").json()["answered"] == 0


def test_other_screeners_sessions_are_not_found(api: Api, person) -> None:
    session = api.post("/api/training/tip/sessions", {"size": 1}).json()
    trial = api.post(f"/api/training/tip/sessions/{session['id']}/next").json()
    other = Api(token_for(Role.SCREENER, person(Role.SCREENER, "someone-else")))
    assert other.get(f"/api/training/tip/sessions/{session['id']}").status_code == 404
    assert other.post(f"/api/training/tip/sessions/{session['id']}/next").status_code == 404
    assert other.get(trial["image_url"]).status_code == 404
    answer = other.post(f"/api/training/tip/trials/{trial['id']}/answer", {"response": "clear"})
    assert answer.status_code == 404
    auditor = Api(token_for(Role.AUDITOR))
    assert auditor.get(f"/api/training/tip/sessions/{session['id']}").status_code == 200
    assert auditor.get(trial["image_url"]).status_code == 200


@pytest.mark.parametrize("role", [Role.CLERK, Role.AUDITOR, Role.RECIPIENT])
def test_only_screeners_train_through_the_api(role: Role) -> None:
    api = Api(token_for(role))
    assert api.post("/api/training/tip/sessions", {"size": 5}).status_code == 403
    assert api.get("/api/training/tip/me").status_code == 403


def test_a_token_acting_for_no_one_cannot_train() -> None:
    api = Api(token_for(Role.SCREENER))
    response = api.post("/api/training/tip/sessions", {"size": 5})
    assert response.status_code == 403 and "named person" in response.content.decode()
