"""The demo's two assessments of the first site, made through the risk services with the clock set
back for the finalised one."""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth.models import User

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.demo import DEMO_STAFF
from mailwarden.core.plugins import DemoOptions
from mailwarden.core.roles import Role
from mailwarden.directory.models import Site
from mailwarden.risk import questionnaire
from mailwarden.risk.demo import answer_for, due_in
from mailwarden.risk.demo import controls as controls_demo
from mailwarden.risk.models import Assessment, Control, Risk
from mailwarden.risk.scoring import method
from mailwarden.risk.services import assessments, controls, findings, register, treatments


def _score(actor: Actor, assessment: Assessment, rng: random.Random, residual: bool) -> None:
    factors = method(assessment.method, assessment.method_params).factors
    for risk in Risk.objects.filter(assessment=assessment):
        inherent = {f.key: rng.randint((f.low + f.high) // 2, f.high) for f in factors}
        values: dict[str, dict[str, int]] = {"inherent": inherent}
        if residual:
            values["residual"] = {
                f.key: max(f.low, inherent[f.key] - rng.randint(0, 2)) for f in factors
            }
        register.score_risk(actor, risk.pk, **values)


def _answer(actor: Actor, assessment: Assessment, rng: random.Random, share: float) -> None:
    template = questionnaire.template(assessment.template)
    asked = [q for s in template.sections for q in s.questions]
    for question in asked[: max(1, round(len(asked) * share))]:
        assessments.answer(
            actor, assessment.pk, question.key, answer_for(question.kind, question.choices, rng)
        )


def _treat(manager: Actor, made: list[Control], assessment: Assessment) -> None:
    now = clock.now()
    risks = list(Risk.objects.filter(assessment=assessment).order_by("-inherent_score", "key"))
    for n, risk in enumerate(risks[:4]):
        if n == 3:
            treatments.plan_treatment(
                manager,
                risk.pk,
                kind="accept",
                description="Accepted until the new mailroom opens: the cost outweighs the risk.",
                owner=DEMO_STAFF[Role.SECURITY_MANAGER],
                due=due_in(now, 30),
            )
            continue
        treatments.plan_treatment(
            manager,
            risk.pk,
            kind="mitigate",
            description=f"Hold to the control: {made[n % len(made)].title.lower()}.",
            owner=DEMO_STAFF[Role.SECURITY_MANAGER],
            # The first falls due before the demo's today, so its owner's alert shows.
            due=due_in(now, 5 if n == 0 else 30 * (n + 1)),
            control_id=made[n % len(made)].pk,
        )


def seed(options: DemoOptions) -> str:
    manager_user = User.objects.filter(username=DEMO_STAFF[Role.SECURITY_MANAGER]).first()
    site = Site.objects.order_by("pk").first()
    if manager_user is None or site is None:
        return ""
    manager = Actor.for_user(manager_user)
    rng = random.Random(options.seed)
    now = clock.now()
    start = options.history_from
    with use_clock(FrozenClock(start + timedelta(days=10))):
        first = assessments.create_assessment(
            manager,
            site=site.code,
            title=f"{site.name}: mail centre assessment",
            period_start=start,
            period_end=start + timedelta(days=10),
        )
        _answer(manager, first, rng, 1.0)
        _score(manager, first, rng, residual=True)
        controls_demo.seed(options)
        made = list(Control.objects.filter(site=site).order_by("pk"))
        _treat(manager, made, first)
        findings.run_rules(manager, first.pk)
        assessments.finalise(manager, first.pk)
    second = assessments.create_assessment(
        manager, site=site.code, title=f"{site.name}: re-assessment", period_start=start
    )
    _answer(manager, second, rng, 0.5)
    report = findings.run_rules(manager, second.pk)
    evaluated = controls.evaluate_site(manager, site.code, now - controls_demo.PERIOD, now)
    found = sum(len(p) for p in report.proposed.values())
    flagged = sum(1 for c in evaluated if c.contradicted)
    return (
        f"2 risk assessments of {site.name} (one finalised, one in progress) with {found} "
        f"automatic findings; {len(evaluated)} controls, {flagged} contradicted by their evidence"
    )
