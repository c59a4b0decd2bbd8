"""Whose address a failed sign-in counts against: a forwarded one only from a trusted proxy.

The requests go through the ASGI stack ``mailwarden serve`` runs: uvicorn's configuration built
from :func:`mailwarden.core.runner.proxy_options`, then the application, then django-axes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from axes.models import AccessAttempt
from pydantic import ValidationError

from mailwarden.config import SecurityConfig, get_settings
from mailwarden.core.runner import proxy_options
from mailwarden.server.asgi import PooledThreadASGIHandler

SPOOFED = "203.0.113.9"


@pytest.fixture
def trusted_proxies() -> Iterator[list[str]]:
    security = get_settings().security
    before = security.trusted_proxies
    security.trusted_proxies = []
    yield security.trusted_proxies
    security.trusted_proxies = before


def served_app() -> Any:
    """The application wrapped as ``serve`` wraps it, with the proxy settings of the moment."""
    config = uvicorn.Config(PooledThreadASGIHandler(1), log_config=None, **proxy_options())
    config.load()
    return config.loaded_app


def failed_sign_in(app: Any, forwarded_for: str) -> int:
    """A wrong password from a client connected at 127.0.0.1, claiming another address."""

    async def go() -> int:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            page = await client.get("/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert token, page.text[:500]
            response = await client.post(
                "/login/",
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": "nobody",
                    "password": "wrong",
                },
                headers={"X-Forwarded-For": forwarded_for, "Referer": "http://testserver/login/"},
            )
            return response.status_code

    # A thread of its own, as a server's loop would have.
    with ThreadPoolExecutor(max_workers=1) as server:
        return server.submit(asyncio.run, go()).result()


@pytest.mark.django_db(transaction=True)
def test_a_forwarded_address_from_an_untrusted_peer_is_not_the_address_axes_counts(
    trusted_proxies,
):
    assert proxy_options() == {"proxy_headers": False, "forwarded_allow_ips": []}
    assert failed_sign_in(served_app(), SPOOFED) == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]


@pytest.mark.django_db(transaction=True)
def test_a_configured_trusted_proxy_names_the_client(trusted_proxies):
    trusted_proxies.append("127.0.0.1")
    assert failed_sign_in(served_app(), SPOOFED) == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [SPOOFED]


def test_trusted_proxies_must_be_addresses_or_networks():
    assert SecurityConfig(trusted_proxies=["10.0.0.5", "10.1.0.0/16", "::1"]).trusted_proxies
    with pytest.raises(ValidationError, match="not an IP address or network"):
        SecurityConfig(trusted_proxies=["*"])
