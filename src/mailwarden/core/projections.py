"""Test images projected into a screening workstation, declared by an app above screening.

Threat image projection (TIP) shows a screener, now and then, a real item's X-ray with a
fictional threat added, and measures whether they find it. The screening workstation asks the
app that declares ``image_projector`` whether to show one (:func:`project`), hands it the
screener's answer first (:func:`answer`), and its decision service refuses while a projected
image is unanswered (:func:`unanswered`): a real item is never cleared or held on the strength of
a projected image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.utils.module_loading import import_string

from mailwarden.core.actor import Actor
from mailwarden.core.plugins import mailwarden_apps


@dataclass(frozen=True)
class ProjectedImage:
    """A test image to show in place of one scan's own rendering."""

    trial: int
    scan_id: int
    # A PNG in the media store, the same size as the scan's rendering.
    image_sha256: str


@dataclass(frozen=True)
class Answer:
    """What the screener is told once they have answered a projected image."""

    hit: bool
    message: str


class ImageProjector(Protocol):
    def project(self, actor: Actor, item_uid: str, scan_id: int) -> ProjectedImage | None:
        """The projected image to show for this screener and item now, or None. Asking again
        before an answer gives the same image."""

    def answer(
        self, actor: Actor, item_uid: str, *, threat: bool, mark: tuple[float, float] | None
    ) -> Answer | None:
        """Record the answer to the unanswered projected image, if there is one; ``mark`` is
        where the screener clicked, as fractions of the image's width and height."""

    def unanswered(self, actor: Actor, item_uid: str) -> bool:
        """Whether this screener has an unanswered projected image of this item."""


def projector() -> ImageProjector | None:
    for app in mailwarden_apps():
        if app.image_projector:
            found: ImageProjector = import_string(app.image_projector)
            return found
    return None


def project(actor: Actor, item_uid: str, scan_id: int) -> ProjectedImage | None:
    found = projector()
    return found.project(actor, item_uid, scan_id) if found else None


def answer(
    actor: Actor, item_uid: str, *, threat: bool, mark: tuple[float, float] | None
) -> Answer | None:
    found = projector()
    return found.answer(actor, item_uid, threat=threat, mark=mark) if found else None


def unanswered(actor: Actor, item_uid: str) -> bool:
    found = projector()
    return found.unanswered(actor, item_uid) if found else False
