import pytest

from mailwarden.core.actor import Actor
from mailwarden.core.services import issue_token
from tests.factories import intake, make_recipient, make_site


def test_livez_needs_no_database(client):
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] in {"sqlite", "postgresql"}


@pytest.mark.django_db
def test_metrics_need_a_token_and_a_role(client):
    assert client.get("/metrics").status_code == 401
    clerk = issue_token(Actor.job("t"), name="clerk", role="clerk").secret
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {clerk}").status_code == 403


@pytest.mark.django_db
def test_metrics_report_items_by_state_in_prometheus_format(client):
    site = make_site()
    intake(site, make_recipient())
    secret = issue_token(Actor.job("t"), name="prom", role="auditor").secret
    client.get("/livez")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert 'mailwarden_items{state="awaiting_screening"} 1.0' in body
    assert "mailwarden_http_requests_total" in body
    assert 'mailwarden_outbox_events{status="pending"}' in body
