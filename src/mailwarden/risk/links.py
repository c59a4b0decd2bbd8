"""What a control links to: the part of mailwarden that implements it. Each link kind checks a
reference at the control's site and gives the linked object's label and console address.

Adding a kind is one function with ``@kind(...)`` returning the object's :class:`Linked`, or
None when the reference names nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from mailwarden.access.models import AccessLevel, Door
from mailwarden.core.errors import ServiceError
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Playbook
from mailwarden.surveillance.models import Camera
from mailwarden.training.models import Course


@dataclass(frozen=True)
class Linked:
    label: str
    url: str


@dataclass(frozen=True)
class LinkKind:
    slug: str
    title: str
    # What the reference is, for forms and error messages; "" when the kind takes none.
    ref_hint: str
    find: Callable[[Site, str], Linked | None]

    @property
    def takes_ref(self) -> bool:
        return bool(self.ref_hint)


KINDS: dict[str, LinkKind] = {}


def kind(
    slug: str, title: str, ref_hint: str = ""
) -> Callable[[Callable[[Site, str], Linked | None]], LinkKind]:
    def register(find: Callable[[Site, str], Linked | None]) -> LinkKind:
        found = LinkKind(slug, title, ref_hint, find)
        KINDS[slug] = found
        return found

    return register


def check(site: Site, link_kind: str, link_ref: str) -> tuple[str, str]:
    """The kind and reference, cleaned; an unknown kind, or a reference naming nothing at the
    site, is refused naming ``link_kind`` or ``link_ref``. No kind means no link."""
    link_kind, link_ref = link_kind.strip(), link_ref.strip()
    if not link_kind:
        if link_ref:
            raise ServiceError("a link reference needs a link kind", "link_ref")
        return "", ""
    found = KINDS.get(link_kind)
    if found is None:
        known = ", ".join(sorted(KINDS))
        raise ServiceError(f"unknown link kind {link_kind!r}; the kinds are {known}", "link_kind")
    if not found.takes_ref:
        if link_ref:
            raise ServiceError(f"a {link_kind} link takes no reference", "link_ref")
    elif not link_ref:
        raise ServiceError(f"a {link_kind} link needs {found.ref_hint}", "link_ref")
    if found.find(site, link_ref) is None:
        raise ServiceError(f"{link_ref!r} is not {found.ref_hint} at site {site.code}", "link_ref")
    return link_kind, link_ref


def resolve(site: Site, link_kind: str, link_ref: str) -> Linked | None:
    """The linked object's label and address; None when there is no link, or it is gone."""
    found = KINDS.get(link_kind)
    return found.find(site, link_ref) if found else None


def _query(url: str, **params: object) -> str:
    return f"{url}?{urlencode(params)}"


@kind("access.door", "A door's access control", "a door's code")
def _door(site: Site, ref: str) -> Linked | None:
    door = Door.objects.filter(site=site, code=ref).first()
    if door is None:
        return None
    return Linked(
        f"Door {door.name or door.code}",
        _query(reverse("access:log"), site=site.code, door=door.pk),
    )


@kind("access.level", "An access level", "an access level's ID")
def _level(site: Site, ref: str) -> Linked | None:
    if not ref.isdigit():
        return None
    level = AccessLevel.objects.filter(site=site, pk=int(ref)).first()
    if level is None:
        return None
    return Linked(f"Access level {level.name}", reverse("access:level_edit", args=[level.pk]))


@kind("training.course", "A training course", "a course's slug")
def _course(site: Site, ref: str) -> Linked | None:
    course = Course.objects.filter(slug=ref).first()
    if course is None:
        return None
    return Linked(f"Course {course.title}", reverse("training:course_admin", args=[course.slug]))


@kind("screening.policy", "The site's screening policy")
def _policy(site: Site, ref: str) -> Linked | None:
    return Linked(
        f"Screening policy of {site.name}", _query(reverse("screening:policy"), site=site.code)
    )


@kind("surveillance.camera", "A camera and its analytics rules", "a camera's name")
def _camera(site: Site, ref: str) -> Linked | None:
    camera = Camera.objects.filter(site=site, name=ref).first()
    if camera is None:
        return None
    return Linked(
        f"Camera {camera.label or camera.name}",
        reverse("surveillance:camera", args=[camera.name]),
    )


@kind("incidents.playbook", "An incident playbook", "a playbook's incident type")
def _playbook(site: Site, ref: str) -> Linked | None:
    playbook = Playbook.objects.filter(incident_type=ref).first()
    if playbook is None:
        return None
    return Linked(
        f"Playbook {playbook.name}", reverse("incidents:playbook_edit", args=[playbook.pk])
    )


@kind("incidents.exercises", "The exercise and drill programme")
def _exercises(site: Site, ref: str) -> Linked | None:
    return Linked("Exercises and drills", reverse("incidents:exercises"))
