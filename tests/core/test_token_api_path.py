"""Token API calls take the lean middleware chain; the console keeps every protection.

Every request here goes through the server's own ASGI application (``server/asgi.py``), as
uvicorn would send it, not through Django's test client, which builds its own full chain.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User

from mailwarden.config import get_settings
from mailwarden.core import services
from mailwarden.core.roles import Role
from mailwarden.server.asgi import TOKEN_API_MIDDLEWARE, PooledThreadASGIHandler
from tests.factories import ADMIN

PASSWORD = "Correct-Horse-9-Battery"
CONSOLE_ONLY = {
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "csp.middleware.CSPMiddleware",
    "mailwarden.core.middleware.MfaRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
}

pytestmark = pytest.mark.django_db(transaction=True)


class AsgiClient:
    """A browser or API client talking to the ASGI application, keeping its cookies."""

    def __init__(self, app: PooledThreadASGIHandler) -> None:
        self.app = app
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies=self.cookies
            ) as client:
                response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
                self.cookies.update(client.cookies)
                return response

        # A loop of its own on a thread, as the server has (browser tests may hold this one's).
        with ThreadPoolExecutor(max_workers=1) as loop:
            return loop.submit(asyncio.run, send()).result()

    def csrf_from(self, path: str) -> str:
        page = self.request("GET", path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf_from("/login/")
        return self.request(
            "POST",
            "/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        )


@pytest.fixture
def app() -> PooledThreadASGIHandler:
    return PooledThreadASGIHandler(threads=1)


@pytest.fixture
def no_default_mfa():
    security = get_settings().security
    before = security.mfa_required_roles
    security.mfa_required_roles = []
    yield
    security.mfa_required_roles = before


def person(role: Role, username: str) -> User:
    return services.create_user(
        ADMIN, username, password=PASSWORD, roles=[role.value], check_password=False
    )


def token_for(role: Role = Role.ADMIN) -> str:
    return services.issue_token(ADMIN, name="integration", role=role.value).secret


def test_the_lean_chain_drops_only_what_a_session_needs():
    kept = [path for path in settings.MIDDLEWARE if path in TOKEN_API_MIDDLEWARE]
    assert set(settings.MIDDLEWARE) - set(kept) >= CONSOLE_ONLY
    assert not CONSOLE_ONLY & set(TOKEN_API_MIDDLEWARE)
    assert "django.middleware.security.SecurityMiddleware" in kept


def test_a_token_call_is_answered_without_session_csrf_or_page_policy(app):
    client = AsgiClient(app)
    bearer = {"Authorization": f"Bearer {token_for()}"}
    created = client.request(
        "POST", "/api/sites", headers=bearer, json={"code": "hq", "name": "HQ", "timezone": "UTC"}
    )
    assert created.status_code == 201, created.text
    listed = client.request("GET", "/api/sites", headers=bearer)
    assert listed.status_code == 200
    assert [site["code"] for site in listed.json()] == ["hq"]
    assert "set-cookie" not in listed.headers
    assert "content-security-policy" not in listed.headers
    # Transport security still applies.
    assert listed.headers["x-content-type-options"] == "nosniff"
    assert listed.headers["x-frame-options"] == "DENY"


def test_a_bad_token_is_refused_even_beside_a_signed_in_session(app, no_default_mfa):
    person(Role.SECURITY_MANAGER, "manager")
    client = AsgiClient(app)
    assert client.sign_in("manager").status_code == 302
    assert client.request("GET", "/api/sites").status_code == 200
    refused = client.request("GET", "/api/sites", headers={"Authorization": "Bearer mw_x_y"})
    assert refused.status_code == 401
    assert refused.json()["field"] == "Authorization"


def test_console_pages_carry_the_page_policy_and_a_csrf_cookie(app):
    page = AsgiClient(app).request("GET", "/login/")
    assert page.status_code == 200
    assert "script-src" in page.headers["content-security-policy"]
    assert "csrftoken" in page.headers["set-cookie"]


def test_a_console_post_without_its_csrf_token_is_refused(app, no_default_mfa):
    person(Role.SECURITY_MANAGER, "manager")
    client = AsgiClient(app)
    refused = client.request("POST", "/login/", data={"username": "manager", "password": PASSWORD})
    assert refused.status_code == 403
    # The session's own API calls are CSRF-checked too.
    assert client.sign_in("manager").status_code == 302
    body = {"code": "hq", "name": "HQ", "timezone": "UTC"}
    assert client.request("POST", "/api/sites", json=body).status_code == 403
    csrf = client.cookies["csrftoken"]
    allowed = client.request("POST", "/api/sites", json=body, headers={"X-CSRFToken": csrf})
    assert allowed.status_code == 201, allowed.text


def test_the_session_signs_a_person_in_and_out(app, no_default_mfa):
    person(Role.SECURITY_MANAGER, "manager")
    client = AsgiClient(app)
    assert client.request("GET", "/").status_code == 302
    assert client.sign_in("manager").status_code == 302
    assert "sessionid" in client.cookies
    assert client.request("GET", "/").status_code == 200


def test_a_role_that_needs_two_factor_is_sent_to_it(app, no_default_mfa):
    services.set_mfa_required(ADMIN, Role.SCREENER.value, True)
    person(Role.SCREENER, "screener")
    client = AsgiClient(app)
    assert client.sign_in("screener").status_code == 302
    held = client.request("GET", "/items/")
    assert held.status_code == 302
    assert held.headers["location"].startswith("/mfa/setup/")


def test_repeated_wrong_passwords_lock_the_name_out(app, no_default_mfa):
    person(Role.CLERK, "clerk")
    client = AsgiClient(app)
    limit = get_settings().security.login_failure_limit
    for _ in range(limit - 1):
        assert client.sign_in("clerk", "wrong").status_code == 200
    assert client.sign_in("clerk", "wrong").status_code == 429
    assert client.sign_in("clerk").status_code == 429


def test_messages_reach_the_next_console_page(app, no_default_mfa):
    person(Role.ADMIN, "root")
    client = AsgiClient(app)
    client.sign_in("root")
    form = {
        "username": "newclerk",
        "password": "Another-Long-Pass-42",
        "roles": [Role.CLERK.value],
        "email": "newclerk@example.org",
        "first_name": "New",
        "last_name": "Clerk",
        "csrfmiddlewaretoken": client.csrf_from("/people/"),
    }
    created = client.request("POST", "/people/", data=form)
    assert created.status_code == 302, created.text[:500]
    page = client.request("GET", created.headers["location"])
    assert "newclerk can now sign in." in page.text
