"""The TIP training pages through the test client: start, answer with a mark, feedback, the
summary, images only to their screener, and roles."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.training.models import TipOutcome, TipSession, TipTrial
from tests.training import conftest_c

pytestmark = pytest.mark.django_db

person = conftest_c.person  # a fixture


def client_for(person, role: Role, name: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(person(role, name))
    return client


def test_a_new_screener_sees_no_trials_yet_and_starts_a_session(person) -> None:
    client = client_for(person, Role.SCREENER, "page-screener")
    page = client.get("/training/tip/")
    assert page.status_code == 200
    assert "No trials yet" in page.content.decode()
    response = client.post("/training/tip/", {"size": "10", "categories": ["knife", "gun"]})
    assert response.status_code == 302
    session = TipSession.objects.get()
    assert response["Location"] == f"/training/tip/{session.pk}/"
    assert session.size == 10 and session.categories == ["knife", "gun"]


def test_bad_start_is_a_form_error(person) -> None:
    client = client_for(person, Role.SCREENER, "page-screener")
    page = client.post("/training/tip/", {"size": "0"})
    assert page.status_code == 400
    assert 'data-field-error="size"' in page.content.decode()
    page = client.post("/training/tip/", {"size": "ten"})
    assert page.status_code == 400
    assert not TipSession.objects.exists()


def test_answering_shows_feedback_then_the_summary(person) -> None:
    client = client_for(person, Role.SCREENER, "page-screener")
    client.post("/training/tip/", {"size": "10"})
    session = TipSession.objects.get()
    # Make it a short all-threat session so the flow is known.
    TipSession.objects.filter(pk=session.pk).update(size=2, threat_share=1.0)
    url = f"/training/tip/{session.pk}/"
    page = client.get(url).content.decode()
    trial = TipTrial.objects.get()
    assert f"/training/tip/image/{trial.pk}.png" in page
    assert "data-tip-box" not in page  # where the threat is stays hidden until answered
    image = client.get(f"/training/tip/image/{trial.pk}.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    x0, y0, x1, y1 = trial.bbox
    answered = client.post(
        url,
        {"trial": trial.pk, "response": "threat", "mark_x": (x0 + x1) / 2, "mark_y": (y0 + y1) / 2},
    )
    assert answered.status_code == 302 and f"answered={trial.pk}" in answered["Location"]
    feedback = client.get(answered["Location"]).content.decode()
    assert 'data-feedback="hit"' in feedback and "data-tip-box" in feedback
    assert "Next image" in feedback
    # Answering the same image twice is refused with a message, not a 500.
    again = client.post(url, {"trial": trial.pk, "response": "clear"})
    assert again.status_code == 400 and "answered already" in again.content.decode()
    client.get(url)
    second = TipTrial.objects.get(position=1)
    answered = client.post(url, {"trial": second.pk, "response": "clear", "response_ms": "1800"})
    feedback = client.get(answered["Location"]).content.decode()
    assert 'data-feedback="miss"' in feedback and "See the summary" in feedback
    summary = client.get(url).content.decode()
    assert "data-tip-summary" in summary and "1 of 2" in summary
    assert TipTrial.objects.get(pk=second.pk).outcome == TipOutcome.MISS
    start = client.get("/training/tip/").content.decode()
    assert "No trials yet" not in start
    assert re.search(r"Threat images found.*?1 of 2", start, re.S)


def test_a_threat_without_a_mark_is_refused_on_the_page(person) -> None:
    client = client_for(person, Role.SCREENER, "page-screener")
    client.post("/training/tip/", {"size": "10"})
    session = TipSession.objects.get()
    url = f"/training/tip/{session.pk}/"
    client.get(url)
    trial = TipTrial.objects.get()
    page = client.post(url, {"trial": trial.pk, "response": "threat"})
    assert page.status_code == 400 and "click where the threat is" in page.content.decode()
    page = client.post(url, {"trial": trial.pk, "response": "threat", "mark_x": "x", "mark_y": "1"})
    assert page.status_code == 400
    assert TipTrial.objects.get().outcome == ""


def test_sessions_and_images_are_their_screeners_own(person) -> None:
    owner = client_for(person, Role.SCREENER, "page-screener")
    owner.post("/training/tip/", {"size": "10"})
    session = TipSession.objects.get()
    owner.get(f"/training/tip/{session.pk}/")
    trial = TipTrial.objects.get()
    other = client_for(person, Role.SCREENER, "other-screener")
    assert other.get(f"/training/tip/{session.pk}/").status_code == 404
    assert other.get(f"/training/tip/image/{trial.pk}.png").status_code == 404
    manager = client_for(person, Role.SECURITY_MANAGER, "a-manager")
    assert manager.get(f"/training/tip/image/{trial.pk}.png").status_code == 200


@pytest.mark.parametrize("role", [Role.CLERK, Role.AUDITOR])
def test_people_who_do_not_screen_are_refused(person, role: Role) -> None:
    client = client_for(person, role, f"not-a-screener-{role.value}")
    assert client.get("/training/tip/").status_code == 403
    assert client.post("/training/tip/", {"size": "10"}).status_code == 403
    assert not TipSession.objects.exists()
