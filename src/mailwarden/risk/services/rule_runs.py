"""Running the automatic findings rules (risk.rules) on an assessment: each proposal becomes a
finding, or updates the one an earlier run made; a rule that fails is reported and the others
still run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from mailwarden.contracts.events import RiskFindingProposed
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.risk.models import Assessment, Finding, FindingSource, FindingState
from mailwarden.risk.permissions import MANAGE_RISK
from mailwarden.risk.rules import Context, Proposed, Rule, RunReport, load
from mailwarden.risk.services.thresholds import thresholds_of

log = logging.getLogger(__name__)

SUBJECT = "risk_finding"
_SUBJECT_LENGTH = 120
_TITLE_LENGTH = 200
_THREAT_LENGTH = 60


def chosen_rules(only: Sequence[str] | None) -> list[Rule]:
    rules = load()
    if only is None:
        return list(rules.values())
    unknown = [slug for slug in only if slug not in rules]
    if unknown:
        raise ServiceError(
            f"no rule {unknown[0]!r}; the rules are {', '.join(sorted(rules))}", "only"
        )
    return [rules[slug] for slug in dict.fromkeys(only)]


def _checked(rule: Rule, proposal: Any) -> Proposed:
    """A rule's proposal as the findings table can hold it; a malformed one fails the rule."""
    if not isinstance(proposal, Proposed):
        raise TypeError(f"it gave a {type(proposal).__name__}, not a Proposed")
    if not proposal.subject or len(proposal.subject) > _SUBJECT_LENGTH:
        raise ValueError(f"its subject {proposal.subject!r} is empty or too long")
    return proposal


def _check(rule: Rule, ctx: Context) -> dict[str, Proposed]:
    # A savepoint: a rule whose query fails must not break the run's transaction (PostgreSQL).
    with transaction.atomic():
        found: dict[str, Proposed] = {}
        for proposal in rule.check(ctx):
            checked = _checked(rule, proposal)
            found[checked.subject] = checked
        return found


def _run(rules: list[Rule], ctx: Context) -> tuple[RunReport, dict[str, dict[str, Proposed]]]:
    report = RunReport()
    by_rule: dict[str, dict[str, Proposed]] = {}
    for rule in rules:
        try:
            by_rule[rule.slug] = _check(rule, ctx)
        except Exception as exc:  # any failure of one rule is reported; the others go on
            log.exception("risk rule %s failed on site %s", rule.slug, ctx.site.code)
            report.failed[rule.slug] = (
                f"The rule “{rule.title}” failed and found nothing: {type(exc).__name__}: {exc}"
            )[:500]
            continue
        report.proposed[rule.slug] = list(by_rule[rule.slug].values())
    return report, by_rule


def _record(
    actor: Actor, assessment: Assessment, slug: str, proposals: dict[str, Proposed]
) -> tuple[int, int]:
    """Write one rule's proposals as findings; (new, updated)."""
    now = clock.now()
    existing = {
        f.subject: f
        for f in Finding.objects.select_for_update().filter(
            assessment=assessment, source=FindingSource.AUTOMATIC, rule=slug
        )
    }
    new = updated = 0
    for subject, proposal in proposals.items():
        values = {
            "title": proposal.title[:_TITLE_LENGTH],
            "evidence": dict(proposal.evidence),
            "suggested_treatment": proposal.suggested_treatment,
            "threat": proposal.threat[:_THREAT_LENGTH],
        }
        finding = existing.get(subject)
        if finding is None:
            finding = Finding.objects.create(
                assessment=assessment,
                source=FindingSource.AUTOMATIC,
                rule=slug,
                subject=subject,
                state=FindingState.PROPOSED,
                created_by=actor.label,
                created_at=now,
                updated_at=now,
                **values,
            )
            new += 1
            ledger.append(
                actor,
                "risk.finding.proposed",
                SUBJECT,
                str(finding.pk),
                {"assessment": assessment.pk, "rule": slug, "subject": subject, **values},
            )
            outbox.emit(
                RiskFindingProposed(
                    finding=finding.pk,
                    assessment=assessment.pk,
                    site=assessment.site.code,
                    rule=slug,
                    title=finding.title,
                )
            )
            continue
        if all(getattr(finding, k) == v for k, v in values.items()):
            continue
        # The state is the assessor's: a dismissed finding stays dismissed with fresh evidence.
        for key, value in values.items():
            setattr(finding, key, value)
        finding.updated_at = now
        finding.save(update_fields=[*values, "updated_at"])
        updated += 1
        ledger.append(
            actor,
            "risk.finding.refreshed",
            SUBJECT,
            str(finding.pk),
            {"rule": slug, "subject": subject, "evidence": values["evidence"]},
        )
    return new, updated


def run_rules(actor: Actor, assessment_id: int, only: list[str] | None = None) -> RunReport:
    """Run the automatic rules (all, or those named in ``only``) for the assessment's site and
    period; each proposal becomes (or updates) a finding. A rule that raises is in
    ``RunReport.failed`` with a sentence, and the others run."""
    require(actor, MANAGE_RISK, "running the automatic findings rules")
    assessment = Assessment.objects.select_related("site").filter(pk=assessment_id).first()
    if assessment is None:
        raise NotFound(f"no assessment {assessment_id}", "assessment_id")
    if assessment.final:
        raise Conflict(
            "the assessment is finalised; its findings no longer change (start a re-assessment)",
            "assessment_id",
        )
    rules = chosen_rules(only)
    ctx = Context(
        site=assessment.site,
        now=clock.now(),
        period_start=assessment.period_start,
        period_end=assessment.period_end,
        thresholds=thresholds_of(assessment.site),
    )
    report, by_rule = _run(rules, ctx)
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.final:
            raise Conflict("the assessment was finalised meanwhile", "assessment_id")
        new = updated = 0
        for slug, proposals in by_rule.items():
            n, u = _record(actor, assessment, slug, proposals)
            new, updated = new + n, updated + u
        ledger.append(
            actor,
            "risk.rules.checked",
            "risk_assessment",
            str(assessment.pk),
            {
                "rules": [r.slug for r in rules],
                "failed": dict(report.failed),
                "new": new,
                "updated": updated,
            },
        )
    return report


def findings_of(assessment_id: int, report: RunReport) -> list[Finding]:
    """The findings a run's proposals are, by rule and subject."""
    wanted = Q()
    for slug, found in report.proposed.items():
        if found:
            wanted |= Q(rule=slug, subject__in=[p.subject for p in found])
    if not wanted:
        return []
    return list(
        Finding.objects.filter(
            wanted, assessment_id=assessment_id, source=FindingSource.AUTOMATIC
        ).order_by("rule", "subject")
    )
