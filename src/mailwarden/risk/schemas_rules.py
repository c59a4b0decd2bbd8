"""The automatic findings rules' API shapes: the rules, a site's thresholds, and a run's report."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import StrictFloat, StrictInt

from mailwarden.core.api import Input
from mailwarden.risk.models import Finding
from mailwarden.risk.rules import THRESHOLDS, Rule, RunReport, Threshold

RuleSlug = Annotated[str, Field(min_length=1, max_length=60)]
# Strict: a dict's values escape Input's strict numbers, and "3" must not pass as 3.
ThresholdValue = StrictInt | StrictFloat | None


class RiskThresholdOut(Schema):
    name: str
    label: str
    default: float | None = Field(description="The value a site uses unless it sets its own.")
    whole_number: bool
    low: float
    high: float
    nullable: bool = Field(description="Whether an empty value means 'ask the owning app'.")


class RiskRuleOut(Schema):
    slug: str
    title: str
    topic: str = Field(description="The module it belongs to: access, screening, training, ...")
    thresholds: list[RiskThresholdOut] = Field(description="The thresholds it reads.")


class RiskSiteThresholdsOut(Schema):
    site: str
    values: dict[str, ThresholdValue] = Field(description="Every threshold as the site uses it.")
    overrides: dict[str, ThresholdValue] = Field(description="Those the site set itself.")


class RiskThresholdsIn(Input):
    thresholds: dict[Annotated[str, Field(max_length=60)], ThresholdValue] = Field(
        max_length=len(THRESHOLDS) + 10,
        description="Thresholds to set, by name; null puts one back to its default.",
    )


class RiskRunIn(Input):
    only: list[RuleSlug] | None = Field(
        None, max_length=100, description="Run only these rules (by slug); all when left out."
    )


class RiskRunFindingOut(Schema):
    id: int
    rule: str
    subject: str
    title: str
    state: str
    evidence: dict[str, Any]
    suggested_treatment: str


class RiskRunFailureOut(Schema):
    rule: str
    message: str


class RiskRunOut(Schema):
    assessment: int
    proposed: dict[str, int] = Field(description="How many subjects each rule that ran found.")
    findings: list[RiskRunFindingOut] = Field(description="The findings those proposals are now.")
    failed: list[RiskRunFailureOut] = Field(description="Rules that failed; the others ran.")


def threshold_out(spec: Threshold) -> RiskThresholdOut:
    return RiskThresholdOut(
        name=spec.name,
        label=spec.label,
        default=spec.default,
        whole_number=spec.kind is int,
        low=spec.low,
        high=spec.high,
        nullable=spec.nullable,
    )


def rule_out(found: Rule) -> RiskRuleOut:
    return RiskRuleOut(
        slug=found.slug,
        title=found.title,
        topic=found.check.__module__.rsplit(".", 1)[-1],
        thresholds=[threshold_out(THRESHOLDS[name]) for name in found.uses],
    )


def run_out(assessment_id: int, report: RunReport, findings: list[Finding]) -> RiskRunOut:
    return RiskRunOut(
        assessment=assessment_id,
        proposed={slug: len(found) for slug, found in report.proposed.items()},
        findings=[
            RiskRunFindingOut(
                id=f.pk,
                rule=f.rule,
                subject=f.subject,
                title=f.title,
                state=f.state,
                evidence=f.evidence,
                suggested_treatment=f.suggested_treatment,
            )
            for f in findings
        ],
        failed=[RiskRunFailureOut(rule=slug, message=m) for slug, m in report.failed.items()],
    )
