"""Apps plug themselves in: the console menu, URLs, API routers, device scopes, metrics and the
demo all come from the installed apps' AppConfigs, so a new app is one line in INSTALLED_APPS,
and core and server name no app."""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import URLResolver
from django.utils.module_loading import import_string

import mailwarden
from mailwarden.core import demo, plugins
from mailwarden.core.actor import Actor
from mailwarden.core.context import console
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user, issue_token
from mailwarden.custody.models import MailItem
from tests.core.plugin_app import parts

GADGETS = "tests.core.plugin_app"
# The menu for an administrator (who has no "My mail"), in the order core once listed by hand.
ADMIN_MENU = [
    "dashboard",
    "intake",
    "items",
    "expected",
    "screening:queue",
    "training:tip",
    "screening:quarantine",
    "access:board",
    "incidents:alarms",
    "incidents:incident_list",
    "incidents:broadcasts",
    "incidents:oncall",
    "incidents:playbooks",
    "incidents:exercises",
    "incidents:dead_letters",
    "surveillance:cameras",
    "surveillance:events",
    "pickup",
    "directory:recipients",
    "directory:sites",
    "incidents:inbox",
    "screening:policy",
    "training:compliance",
    "training:proficiency",
    "training:parcels",
    "risk:dashboard",
    "reports:index",
    "security_policy",
    "people",
    "api_tokens",
]


@pytest.fixture
def with_gadgets() -> Iterator[None]:
    sys.modules.pop(f"{GADGETS}.handlers", None)
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, GADGETS]):
        yield


def menu_for(*roles: Role, page: str = "dashboard") -> tuple[list[str], str | None]:
    """The menu entries a person with ``roles`` sees on ``page`` (a view name), and the one lit."""
    user = create_user(
        Actor.job("tests"),
        f"user{len(roles)}{''.join(r.value[:2] for r in roles)}",
        password="x",
        roles=[r.value for r in roles],
        check_password=False,
    )
    request = RequestFactory().get("/")
    request.user = user
    request.resolver_match = SimpleNamespace(view_name=page)
    context = console(request)
    return [e.url_name for e in context["mw_nav"]], context["mw_section"]


@pytest.mark.django_db
def test_the_menu_keeps_its_order_across_apps():
    menu, _ = menu_for(Role.ADMIN)
    assert menu == ADMIN_MENU
    recipient, _ = menu_for(Role.RECIPIENT)
    assert recipient == ["my_mail", "incidents:inbox"]
    # A page under an entry lights that entry up.
    assert menu_for(Role.AUDITOR, page="access:credential")[1] == "access:board"
    sections = plugins.nav_sections()
    assert sections["screening:workstation"] == "screening:queue"
    assert sections["item_detail"] == "items"


def test_urls_and_routers_are_the_ones_the_apps_declare():
    from mailwarden.server.api import api
    from mailwarden.server.urls import urlpatterns

    included = [
        (str(p.pattern), p.urlconf_module.__name__)
        for p in urlpatterns
        if isinstance(p, URLResolver) and hasattr(p.urlconf_module, "__name__")
    ]
    assert included == plugins.console_urlconfs()
    assert ("screening/", "mailwarden.screening.urls") in included
    declared = plugins.api_routers()
    assert len(declared) == len([a for a in plugins.mailwarden_apps() if a.api_router])
    attached = [router for _, router in api._routers if router in declared]
    assert attached == declared


@pytest.mark.django_db
def test_an_app_plugs_in_with_one_line_in_installed_apps(with_gadgets):
    config = next(a for a in plugins.mailwarden_apps() if a.name == GADGETS)
    assert plugins.mailwarden_apps()[-1] is config
    # Its menu entries take their places among the other apps', for the roles they name.
    auditor, section = menu_for(Role.AUDITOR, page="gadgets:one")
    assert auditor[auditor.index("items") + 1] == "gadgets:list"
    assert "gadgets:admin" not in auditor
    assert section == "gadgets:list"
    manager, _ = menu_for(Role.SECURITY_MANAGER)
    assert manager[-1] == "gadgets:admin" and "gadgets:list" not in manager
    assert menu_for(Role.ADMIN)[0] == [
        *ADMIN_MENU[:3],
        "gadgets:list",
        *ADMIN_MENU[3:],
        "gadgets:admin",
    ]
    # Its pages, router, device scope, handlers and metrics.
    assert plugins.console_urlconfs()[-1] == ("gadgets/", "tests.core.plugin_app.parts")
    assert plugins.api_routers()[-1] is parts.router
    assert plugins.device_operations("gadget-7") == parts.GADGET_OPERATIONS
    assert plugins.device_operations("dock-scanner") is None
    assert f"{GADGETS}.handlers" in sys.modules
    assert "mailwarden_gadgets" in [m.name for m in plugins.app_metrics()]


@pytest.mark.django_db
def test_a_device_scope_declared_by_an_app_limits_that_device_tokens(client: Client):
    secret = issue_token(Actor.job("t"), name="gadget", role="auditor", device="gadget-7").secret
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/ledger/verify", headers=headers).status_code == 200
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, GADGETS]):
        refused = client.get("/api/ledger/verify", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["field"] == "Authorization"


@pytest.mark.django_db
def test_the_demo_runs_every_app_seeder_in_installed_apps_order(with_gadgets):
    parts.CALLS.seeded.clear()
    parts.CALLS.live.clear()
    result = demo.seed(
        items=6,
        recipients=3,
        seed=2,
        skip={"screening", "access", "incidents", "surveillance", "training", "risk"},
    )
    assert result.created
    assert result.summary() == ("Seeded 1 site and 3 recipients. Seeded 6 items. Seeded 3 gadgets.")
    # The gadgets came after custody, and saw its items.
    [(options, items)] = parts.CALLS.seeded
    assert items == MailItem.objects.count() == 6
    assert options == result.options and options.seed == 2
    again = demo.seed(items=6, recipients=3, seed=2)
    assert not again.created and len(parts.CALLS.seeded) == 1
    assert again.summary() == "Demo data already present: 3 recipients, 6 items."

    lines = demo.banner("http://127.0.0.1:8000/")
    assert lines[0].startswith("  Sign in:  admin / ")
    assert lines[-1] == "  Gadgets:  http://127.0.0.1:8000/gadgets/"
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    live = demo.start_live("127.0.0.1", port, result.options)
    for process in live:
        process.stop()
    assert parts.CALLS.live and parts.CALLS.live[0].stopped


def _app_modules() -> list[str]:
    return [a.name for a in plugins.mailwarden_apps() if a.name != "mailwarden.core"]


@pytest.mark.parametrize("package", ["core", "server"])
def test_core_and_server_name_no_app(package):
    apps = _app_modules()
    assert "mailwarden.custody" in apps and "mailwarden.access" in apps
    names = re.compile(
        "|".join(
            [rf"\b{re.escape(a)}\b" for a in apps]
            + [rf"from\s+mailwarden\s+import\s+.*\b{a.rsplit('.', 1)[1]}\b" for a in apps]
        )
    )
    root = Path(mailwarden.__file__).parent / package
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".html") or "migrations" in path.parts:
            continue
        # The one list of installed apps is where they are registered.
        if path == root / "settings.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if names.search(line):
                found.append(f"{path.relative_to(root.parent)}:{n}: {line.strip()}")
    assert found == []


def test_every_declared_path_imports():
    for app in plugins.mailwarden_apps():
        for dotted in (app.api_router, app.device_scope, app.metrics, app.demo_seeder):
            if dotted:
                import_string(dotted)
        for entry in app.nav:
            assert entry.allowed, entry
