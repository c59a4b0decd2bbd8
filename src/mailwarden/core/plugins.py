"""How an app plugs itself in: its ``AppConfig`` subclasses :class:`MailwardenApp` and declares
what it adds to the console, the API, device tokens, the background tick and the demo.

``core`` and ``server`` read these declarations from the installed apps
(:func:`mailwarden_apps`, in ``INSTALLED_APPS`` order) and name no app, so adding an app is one
line in ``INSTALLED_APPS`` (see docs/architecture.md). Anything that holds code is declared as a
dotted path and imported on first use: an app's ``apps.py`` is read while Django loads the apps,
before any model may be imported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

from django.apps import AppConfig, apps
from django.db import transaction
from django.utils.module_loading import import_string

from mailwarden.core import media
from mailwarden.core.roles import Role

if TYPE_CHECKING:
    from ninja import Router
    from prometheus_client.core import Metric

    from mailwarden.core.actor import Actor

# A device-token scope: given a token's device name, the operations (URL names) that device may
# call, or None when the device is not one of the app's own. A device that no app claims (a dock
# scanner) keeps its role's reach; an edge controller's token reaches only its sync operations.
DeviceScope = Callable[[str], frozenset[str] | None]


@dataclass(frozen=True)
class NavEntry:
    """One entry of the console's menu, shown to the roles that may open its page."""

    url_name: str
    label: str
    icon: str
    # The roles that see it: a tuple, or the dotted path of the tuple the page's view checks
    # (imported on first use, so apps.py need not import the app's views or services).
    roles: tuple[Role, ...] | str
    # Where it goes in the menu, which mixes every app's entries: lower comes first.
    order: int
    # Admin passes every role check, but "My mail" only means something to a recipient.
    admin_too: bool = True
    # Pages (view names) that belong under this entry without being its own URL.
    pages: tuple[str, ...] = ()

    @cached_property
    def allowed(self) -> tuple[Role, ...]:
        roles = import_string(self.roles) if isinstance(self.roles, str) else self.roles
        return tuple(Role(r) for r in roles)

    def visible_to(self, roles: frozenset[Role]) -> bool:
        if self.admin_too and Role.ADMIN in roles:
            return True
        return any(r in roles for r in self.allowed)


@dataclass(frozen=True)
class HistoryLine:
    """One thing that happened to a person, for the history on their page."""

    at: datetime
    what: str
    # Who did it, as the ledger names them ("user:mona"); shown through core.names.
    actor: str = ""
    url: str = ""


@dataclass(frozen=True)
class PersonSection:
    """A part of a recipient's page that an app above the directory contributes."""

    title: str
    # Rendered by the contributing app from its own templates, so core needs none of them.
    html: str
    # Sorts the sections: lower comes first.
    order: int = 100
    history: tuple[HistoryLine, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class SearchGroup:
    """One kind of result of the console's global search ("Items", "People")."""

    label: str
    hits: tuple[SearchHit, ...]
    # Where the full list of this kind for the query is, when there are more than shown.
    more_url: str = ""
    order: int = 100


# (actor, recipient id) -> the section, or None when the actor may not see it or it is empty.
PersonSectionFn = Callable[["Actor", int], PersonSection | None]
# (actor, query, limit) -> the groups found; a provider returns none the actor may not see.
SearchProvider = Callable[["Actor", str, int], Iterable[SearchGroup]]


@dataclass(frozen=True)
class DemoOptions:
    """What ``mailwarden demo`` (and ``seed-demo``) asked for; every app's seeder gets the same."""

    seed: int
    items: int
    recipients: int
    # When the demo mailroom's history begins: seeders date what they make from here on.
    history_from: datetime


class DemoProcess(Protocol):
    """Something a seeder runs beside the demo server, such as simulated devices."""

    def stop(self) -> None: ...


class DemoSeeder:
    """An app's part of the demo. It seeds only its own app, through its own services; it may
    read what the apps below it seeded, but never calls another app's demo code."""

    def present(self) -> str | None:
        """What of this app's data is in the database already ("50 recipients"), or None.

        The demo seeds only a database in which no app reports data.
        """
        return None

    def seed(self, options: DemoOptions) -> str:
        """Seed this app's part; a sentence for the demo's summary, or "" to say nothing."""
        raise NotImplementedError

    def banner(self, url: str) -> list[str]:
        """Lines for the banner ``mailwarden demo`` prints, for a console served at ``url``."""
        return []

    def live(self, host: str, port: int, options: DemoOptions) -> DemoProcess | None:
        """Start what runs beside the demo server listening at ``host:port`` (it may not be
        listening yet); it is stopped when the server stops. It must not stop the server: if it
        fails, it says so once and the console carries on."""
        return None


class MailwardenApp(AppConfig):
    """Base of every mailwarden app's ``AppConfig``; each declaration is optional."""

    # The app's console menu entries.
    nav: tuple[NavEntry, ...] = ()
    # The module of the app's console URLconf, and where its URLs go.
    urls: str | None = None
    url_prefix: str = ""
    # The app's django-ninja Router, added to the one API.
    api_router: str | None = None
    # A DeviceScope for the devices the app owns.
    device_scope: str | None = None
    # Modules whose import registers the app's outbox handlers (core.outbox.handles) and its
    # periodic jobs (core.tasks.periodic); they are imported once the apps are ready.
    event_handlers: tuple[str, ...] = ()
    periodic_jobs: tuple[str, ...] = ()
    # A function that yields the app's Prometheus metric families at scrape time.
    metrics: str | None = None
    # The app's DemoSeeder class.
    demo_seeder: str | None = None
    # A core.duties.DutyGate: what the app says before someone does a duty a lower app owns.
    duty_gate: str | None = None
    # A core.projections.ImageProjector: test images for the screening workstation.
    image_projector: str | None = None
    # A mapping of block names to functions ``(argument) -> Markdown``: text the app publishes
    # for other apps' pages (a course shows a playbook's steps without importing incidents).
    text_blocks: str | None = None
    # A PersonSectionFn: the app's part of a recipient's page (custody lists the person's items).
    person_section: str | None = None
    # A SearchProvider: what the app finds for the console's global search box.
    search_provider: str | None = None
    # A function ``(digests) -> set of those digests`` that a live row of the app still uses, so
    # another app's retention deletes a shared media file only when no app answers for it.
    media_in_use: str | None = None
    # A function ``(item uids) -> {uid: reason}``: the items a hold of this app keeps from any
    # purge (an incident's legal hold keeps the items it concerns).
    legal_holds: str | None = None

    # Django takes the one AppConfig subclass an app's apps.py holds as the app's config. This
    # base, imported into every apps.py, must not count as one; each subclass must.
    default = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default" not in cls.__dict__:
            cls.default = True

    def ready(self) -> None:
        for module in (*self.event_handlers, *self.periodic_jobs):
            import_module(module)


def mailwarden_apps() -> list[MailwardenApp]:
    """The installed mailwarden apps, in ``INSTALLED_APPS`` order."""
    return [c for c in apps.get_app_configs() if isinstance(c, MailwardenApp)]


def text_block(name: str, argument: str) -> str | None:
    """The Markdown an app publishes as block ``name`` for ``argument``; None when no app does."""
    for app in mailwarden_apps():
        if app.text_blocks:
            render = import_string(app.text_blocks).get(name)
            if render is not None:
                return str(render(argument))
    return None


def media_in_use(digests: Collection[str]) -> set[str]:
    """Those of ``digests`` that some app's live rows still refer to (see ``media_in_use``)."""
    wanted = set(digests)
    used: set[str] = set()
    for app in mailwarden_apps():
        if app.media_in_use and wanted - used:
            answer: Callable[[Collection[str]], set[str]] = import_string(app.media_in_use)
            used |= answer(wanted - used) & wanted
    return used


def release_unused_media(candidates: Collection[str]) -> list[str]:
    """Of ``candidates``, those no app still uses, sorted; they leave the store once the
    caller's transaction commits, so a rolled-back purge deletes nothing. Ask after the rows
    say purged, so the caller's own app answers only for its live rows."""
    unused = sorted(set(candidates) - media_in_use(candidates))
    transaction.on_commit(lambda: media.delete(unused))
    return unused


def legal_holds(item_uids: Collection[str]) -> dict[str, str]:
    """Which of ``item_uids`` a higher app's legal hold covers, each with why (its first)."""
    found: dict[str, str] = {}
    for app in mailwarden_apps():
        if app.legal_holds and item_uids:
            answer: Callable[[Collection[str]], dict[str, str]] = import_string(app.legal_holds)
            for uid, why in answer(item_uids).items():
                found.setdefault(uid, why)
    return found


def person_sections(actor: Actor, recipient_id: int) -> list[PersonSection]:
    """What every app shows on a recipient's page for ``actor``, in section order."""
    found = []
    for app in mailwarden_apps():
        if app.person_section:
            section_of: PersonSectionFn = import_string(app.person_section)
            section = section_of(actor, recipient_id)
            if section is not None:
                found.append(section)
    return sorted(found, key=lambda s: s.order)


def search(actor: Actor, query: str, limit: int = 10) -> list[SearchGroup]:
    """What every app finds for ``query`` that ``actor`` may see, grouped by kind; empty groups
    are left out."""
    groups: list[SearchGroup] = []
    for app in mailwarden_apps():
        if app.search_provider:
            provider: SearchProvider = import_string(app.search_provider)
            groups.extend(g for g in provider(actor, query, limit) if g.hits)
    return sorted(groups, key=lambda g: g.order)


def nav_entries() -> list[NavEntry]:
    """Every app's menu entries, in menu order."""
    return sorted((e for a in mailwarden_apps() for e in a.nav), key=lambda e: e.order)


def nav_sections() -> dict[str, str]:
    """The nav entry each page belongs under: its own, or the one that lists it in ``pages``."""
    sections: dict[str, str] = {}
    for entry in nav_entries():
        sections[entry.url_name] = entry.url_name
        sections.update(dict.fromkeys(entry.pages, entry.url_name))
    return sections


def console_urlconfs() -> list[tuple[str, str]]:
    """(prefix, URLconf module) of every app that has console pages."""
    return [(a.url_prefix, a.urls) for a in mailwarden_apps() if a.urls]


def api_routers() -> list[Router]:
    return [import_string(a.api_router) for a in mailwarden_apps() if a.api_router]


def device_operations(device: str) -> frozenset[str] | None:
    """The operations a device's token may call, from the app that owns the device; None when
    no app claims it."""
    for app in mailwarden_apps():
        if app.device_scope:
            scope: DeviceScope = import_string(app.device_scope)
            allowed = scope(device)
            if allowed is not None:
                return allowed
    return None


def app_metrics() -> Iterator[Metric]:
    for app in mailwarden_apps():
        if app.metrics:
            collect: Callable[[], Iterable[Metric]] = import_string(app.metrics)
            yield from collect()


def demo_seeders() -> list[tuple[str, DemoSeeder]]:
    """(app label, seeder) of every app that seeds demo data, in ``INSTALLED_APPS`` order."""
    found: list[tuple[str, DemoSeeder]] = []
    for app in mailwarden_apps():
        if app.demo_seeder:
            seeder_class: type[DemoSeeder] = import_string(app.demo_seeder)
            found.append((app.label, seeder_class()))
    return found
