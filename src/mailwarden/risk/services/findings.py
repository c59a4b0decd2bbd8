"""Findings: recorded by an assessor with notes and photos, or proposed by the automatic rules."""

from __future__ import annotations

from mailwarden.core.actor import Actor
from mailwarden.risk.models import Finding, FindingPhoto
from mailwarden.risk.rules import RunReport


def record_finding(
    actor: Actor, assessment_id: int, *, title: str, notes: str = "", threat: str = ""
) -> Finding:
    raise NotImplementedError


def add_photo(actor: Actor, finding_id: int, data: bytes, caption: str = "") -> FindingPhoto:
    """A photo of a finding, checked by core.media.check_image (size and pixel limits)."""
    raise NotImplementedError


def set_finding_state(actor: Actor, finding_id: int, state: str, notes: str = "") -> Finding:
    """Confirm or dismiss a finding (a dismissed automatic finding stays dismissed on reruns)."""
    raise NotImplementedError


def run_rules(actor: Actor, assessment_id: int, only: list[str] | None = None) -> RunReport:
    """Run the automatic rules for the assessment's site and period; each proposal becomes (or
    updates) a finding. A rule that raises is in ``RunReport.failed`` and the others run."""
    # H3's implementation lives in its own module, so this file stays H2's.
    from mailwarden.risk.services import rule_runs

    return rule_runs.run_rules(actor, assessment_id, only)
