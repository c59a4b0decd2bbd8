"""Read-side queries for controls: the list with claimed status, evidence and flag, one control,
and what a control can link to and be measured by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from mailwarden.core.errors import NotFound
from mailwarden.directory.queries import site_by_code
from mailwarden.risk import links
from mailwarden.risk.evidence import Measure, measures
from mailwarden.risk.models import Control


@dataclass(frozen=True)
class ControlRow:
    control: Control
    linked: links.Linked | None
    measure: Measure | None

    @property
    def evidence(self) -> dict[str, Any]:
        return dict(self.control.last_evidence)

    @property
    def measure_title(self) -> str:
        return self.measure.title if self.measure else ""


def _row(control: Control) -> ControlRow:
    linked = (
        links.resolve(control.site, control.link_kind, control.link_ref)
        if control.link_kind
        else None
    )
    return ControlRow(control, linked, measures().get(control.measure))


def controls(site: str | None = None, *, contradicted: bool | None = None) -> QuerySet[Control]:
    """Controls by site and title, optionally of one site (NotFound naming ``site``) and only
    the flagged (or unflagged) ones."""
    query = Control.objects.select_related("site").order_by("site__code", "title", "pk")
    if site:
        query = query.filter(site=site_by_code(site))
    if contradicted is not None:
        query = query.filter(contradicted=contradicted)
    return query


def rows(site: str | None = None, *, contradicted: bool | None = None) -> list[ControlRow]:
    return [_row(c) for c in controls(site, contradicted=contradicted)]


def control(control_id: int) -> Control:
    found = Control.objects.select_related("site").filter(pk=control_id).first()
    if found is None:
        raise NotFound(f"no control {control_id}", "control")
    return found


def row(control_id: int) -> ControlRow:
    return _row(control(control_id))


def flagged_count(site: str | None = None) -> int:
    """How many controls the evidence contradicts, for dashboards."""
    return controls(site, contradicted=True).count()


def measure_list() -> list[Measure]:
    return sorted(measures().values(), key=lambda m: m.title)


def link_kinds() -> list[links.LinkKind]:
    return sorted(links.KINDS.values(), key=lambda k: k.slug)
