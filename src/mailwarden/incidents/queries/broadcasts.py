"""What the accountability board and the API read about site messages and their roll calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from mailwarden.incidents.models import Answer, Broadcast, RollCallAnswer

NO_DEPARTMENT = "No department"


@dataclass(frozen=True)
class Tally:
    total: int
    safe: int
    need_help: int
    no_answer: int

    @property
    def answered(self) -> int:
        return self.safe + self.need_help

    def percent(self, part: int) -> float:
        return round(100 * part / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class DepartmentTally:
    department: str
    tally: Tally


COUNTS: dict[str, Any] = {
    "total": Count("id"),
    "safe": Count("id", filter=Q(answer=Answer.SAFE)),
    "need_help": Count("id", filter=Q(answer=Answer.NEED_HELP)),
    "no_answer": Count("id", filter=Q(answer=Answer.NONE)),
}


def tally(broadcast: Broadcast) -> Tally:
    row = RollCallAnswer.objects.filter(broadcast=broadcast).aggregate(**COUNTS)
    return Tally(**{k: v or 0 for k, v in row.items()})


def by_department(broadcast: Broadcast) -> list[DepartmentTally]:
    """Counts per department, the departments with people needing help first, then by name."""
    rows = (
        RollCallAnswer.objects.filter(broadcast=broadcast)
        .values("recipient__department__name")
        .annotate(**COUNTS)
        .order_by()
    )
    found = [
        DepartmentTally(
            r["recipient__department__name"] or NO_DEPARTMENT,
            Tally(r["total"], r["safe"], r["need_help"], r["no_answer"]),
        )
        for r in rows
    ]
    return sorted(found, key=lambda d: (-d.tally.need_help, d.department.casefold()))


def answers(broadcast: Broadcast, answer: str | None = None) -> QuerySet[RollCallAnswer]:
    """The people of a roll call: those needing help first, then the rest, by name."""
    rows = RollCallAnswer.objects.filter(broadcast=broadcast).select_related(
        "recipient__department"
    )
    if answer is not None:
        rows = rows.filter(answer=answer)
    return rows.order_by("recipient__last_name", "recipient__first_name", "id")


def need_help(broadcast: Broadcast) -> QuerySet[RollCallAnswer]:
    return (
        RollCallAnswer.objects.filter(broadcast=broadcast, answer=Answer.NEED_HELP)
        .select_related("recipient__department")
        .order_by("answered_at", "id")
    )


def board_signature(broadcast_id: int) -> tuple[Any, ...]:
    """Different whenever anything the board shows may have changed."""
    row = RollCallAnswer.objects.filter(broadcast_id=broadcast_id).aggregate(
        last=Max("answered_at"), **COUNTS
    )
    state = Broadcast.objects.filter(pk=broadcast_id).values_list("rounds", "closed_at").first()
    return (tuple(sorted(row.items())), state)
