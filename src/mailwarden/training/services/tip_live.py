"""Live threat image projection on the screening workstation (core.projections).
(Helper C fills this in.)"""

from __future__ import annotations

from mailwarden.core.actor import Actor
from mailwarden.core.projections import Answer, ProjectedImage


class LiveProjector:
    def project(self, actor: Actor, item_uid: str, scan_id: int) -> ProjectedImage | None:
        return None

    def answer(
        self, actor: Actor, item_uid: str, *, threat: bool, mark: tuple[float, float] | None
    ) -> Answer | None:
        return None

    def unanswered(self, actor: Actor, item_uid: str) -> bool:
        return False


PROJECTOR = LiveProjector()
