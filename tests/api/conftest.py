"""Fixtures for API tests: a client that speaks as any role, a site with locations, and a way
to show that a refused request changed nothing."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image, ImageDraw

from mailwarden.core.actor import Actor
from mailwarden.core.models import ApiToken, LedgerHead
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user, issue_token
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Location, Recipient, Site
from tests.factories import ADMIN, make_recipient, make_site


class Api:
    """A Django test client that sends one bearer token (or none) with every request."""

    def __init__(self, secret: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)  # as a real server does
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(
            path, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )

    def put(self, path: str, body: Any = None) -> Any:
        return self.client.put(
            path, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, body: Any = None) -> Any:
        return self.client.patch(
            path, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )

    def upload(self, path: str, **files: Any) -> Any:
        return self.client.post(path, files, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self.headers)


def actor_label(api: Api) -> str:
    """How the ledger names whoever holds this client's token (a token without a user)."""
    prefix = api.headers["Authorization"].split("_")[1]
    return f"user:token-{prefix}"


def token_for(role: Role, user: User | None = None) -> str:
    """A token for ``role``; with ``user``, one that acts for them, which only they can issue."""
    issuer = Actor.for_user(user) if user else ADMIN
    issued = issue_token(
        issuer, name=f"{role.value} test", role=role.value, user_id=user.pk if user else None
    )
    return issued.secret


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient(department="Finance", mail_stop="B4-217")


@pytest.fixture
def as_role(db) -> Callable[[Role], Api]:
    return lambda role: Api(token_for(role))


@pytest.fixture
def admin(as_role) -> Api:
    return as_role(Role.ADMIN)


@pytest.fixture
def clerk(as_role) -> Api:
    return as_role(Role.CLERK)


@pytest.fixture
def screener(as_role) -> Api:
    return as_role(Role.SCREENER)


@dataclass(frozen=True)
class Person:
    api: Api
    recipient: Recipient
    user: User


@pytest.fixture
def employee(db) -> Person:
    """A recipient who signs in: their API token acts for their own user account."""
    user = create_user(ADMIN, "employee", password="x", roles=["recipient"], check_password=False)
    person = make_recipient(first_name="Grace", last_name="Hopper")
    # No service links a directory entry to a sign-in account yet; the demo does the same.
    Recipient.objects.filter(pk=person.pk).update(user=user)
    return Person(Api(token_for(Role.RECIPIENT, user)), person, user)


def snapshot() -> tuple[object, ...]:
    """Everything a refused request must leave as it was."""
    head = LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()
    return (
        head,
        MailItem.objects.count(),
        list(
            MailItem.objects.order_by("uid").values_list("uid", "state", "version", "photo_sha256")
        ),
        Recipient.objects.count(),
        Site.objects.count(),
        Location.objects.count(),
        ApiToken.objects.filter(revoked_at__isnull=True).count(),
    )


def png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).line((0, 0, width - 1, height - 1), fill="black", width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def assert_refused(response: Any, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["field"] == field, body
    assert body["message"]
    return body
