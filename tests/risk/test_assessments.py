"""Assessments: created from the shipped template with a fixed method, answered, checked for what
is missing, finalised once complete (ledger and event), re-assessed from the last final one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import OutboxEvent
from mailwarden.risk import questionnaire
from mailwarden.risk.models import Answer, AssessmentState, Risk
from mailwarden.risk.services import assessments, register
from mailwarden.risk.services.assessments import IncompleteAssessment
from tests.conftest import race
from tests.factories import AUDITOR, CLERK, MANAGER, make_site
from tests.risk.assessment_helpers import answer_all, complete, score_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(frozen_clock):
    return make_site("hq")


def _new(site, **kw):
    return assessments.create_assessment(MANAGER, site=site.code, title="Spring walk", **kw)


# ----------------------------------------------------------------------------- the template


def test_the_shipped_template_follows_the_five_steps_and_covers_the_threats():
    shape = questionnaire.template("mail-centre")
    assert [s.key for s in shape.sections] == [
        "assets",
        "threats",
        "vulnerabilities",
        "response",
        "countermeasures",
    ]
    questions = [q for s in shape.sections for q in s.questions]
    assert 30 <= len(questions) <= 40
    assert {t.key for t in shape.threats} >= {
        "unauthorised-access",
        "tampering",
        "suspicious-package",
        "hazardous-powder",
        "insider",
        "theft",
        "disruption",
    }
    for key in ("coordinator-named", "ventilation-shutoff", "ppe", "isolation-area", "shifts"):
        assert shape.question(key) is not None
    assert questionnaire.templates() == [shape]


def test_an_unknown_template_names_the_known_ones():
    with pytest.raises(LookupError, match="mail-centre"):
        questionnaire.template("warehouse")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("slug: x\ntitle: X\nversion: 0\nsections: []\nthreats: []", "version"),
        ("slug: x\ntitle: X\nversion: 1\nsections: []\nthreats: []", "sections"),
        (
            "slug: x\ntitle: X\nversion: 1\nthreats: [{key: t, title: T}]\n"
            "sections: [{key: s, title: S, questions: [{key: q, text: Q, kind: essay}]}]",
            "kind",
        ),
        (
            "slug: x\ntitle: X\nversion: 1\nthreats: [{key: t, title: T}]\n"
            "sections: [{key: s, title: S, questions: [{key: q, text: Q, kind: choice}]}]",
            "choices",
        ),
        (
            "slug: x\ntitle: X\nversion: 1\nthreats: [{key: t, title: T}]\n"
            "sections: [{key: s, title: S, questions: [{key: q, text: Q, kind: yesno},"
            " {key: q, text: R, kind: yesno}]}]",
            "used twice",
        ),
        (
            "slug: x\ntitle: X\nversion: 1\nthreats: [{key: t, title: T}]\n"
            "sections: [{key: s, title: S, questions: [{key: q, text: Q, kind: yesno, max: 3}]}]",
            "max",
        ),
    ],
)
def test_a_malformed_template_says_where(text, problem):
    with pytest.raises(questionnaire.TemplateError, match=problem):
        questionnaire.parse(text, "x.yaml")


# ----------------------------------------------------------------------------- creating


def test_a_new_assessment_starts_with_one_unscored_risk_per_threat(site, frozen_clock):
    assessment = _new(site, method="matrix", method_params={"size": 4})
    assert assessment.state == AssessmentState.DRAFT
    assert assessment.template == "mail-centre"
    assert assessment.method_params == {"size": 4}
    assert assessment.previous is None
    assert assessment.period_end == frozen_clock()
    assert assessment.period_start == frozen_clock() - timedelta(days=90)
    threats = questionnaire.template("mail-centre").threats
    risks = list(assessment.risks.order_by("key"))
    assert sorted(r.key for r in risks) == sorted(t.key for t in threats)
    assert all(r.inherent_score is None and r.threat == r.key for r in risks)
    [entry] = ledger.entries_for("risk_assessment", str(assessment.pk))
    assert entry.action == "risk.assessment.created"
    assert assessment.created_by == MANAGER.label


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"method": "octave"}, "method"),
        ({"method": "matrix", "method_params": {"size": 12}}, "method_params.size"),
        ({"method": "carver", "method_params": {"size": 5}}, "method_params.size"),
        ({"template": "warehouse"}, "template"),
        ({"title": "  "}, "title"),
    ],
)
def test_bad_input_is_refused_naming_the_field(site, kw, field):
    args = {"site": site.code, "title": "Walk", **kw}
    with pytest.raises(ServiceError) as err:
        assessments.create_assessment(MANAGER, **args)
    assert err.value.field == field


def test_an_unknown_site_and_a_backwards_period_are_refused(site, frozen_clock):
    with pytest.raises(NotFound):
        assessments.create_assessment(MANAGER, site="nowhere", title="Walk")
    now = frozen_clock()
    with pytest.raises(ServiceError) as err:
        _new(site, period_start=now, period_end=now - timedelta(days=1))
    assert err.value.field == "period_start"


@pytest.mark.parametrize("who", [CLERK, AUDITOR])
def test_only_security_managers_assess(site, who):
    with pytest.raises(Forbidden):
        assessments.create_assessment(who, site=site.code, title="Walk")


# ----------------------------------------------------------------------------- answering


def test_answers_are_recorded_and_changed(site):
    assessment = _new(site)
    assessments.answer(MANAGER, assessment.pk, "coordinator-named", False, note="none yet")
    row = assessments.answer(MANAGER, assessment.pk, "coordinator-named", True)
    assert Answer.objects.get(pk=row.pk).value is True
    assert Answer.objects.filter(assessment=assessment).count() == 1
    actions = [e.action for e in ledger.entries_for("risk_assessment", str(assessment.pk))]
    assert actions.count("risk.assessment.answered") == 2


def test_a_multiple_choice_answer_keeps_the_template_order_once_each(site):
    assessment = _new(site)
    row = assessments.answer(MANAGER, assessment.pk, "ppe", ["masks", "gloves", "masks"])
    assert row.value == ["gloves", "masks"]


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("coordinator-named", "yes"),
        ("coordinator-named", 1),
        ("daily-items", True),
        ("daily-items", "many"),
        ("daily-items", -4),
        ("daily-items", float("nan")),
        ("location", "roof"),
        ("ppe", []),
        ("ppe", ["gloves", "helmet"]),
        ("ppe", "gloves"),
        ("ppe", ["gloves", "none"]),
        ("training-current", 101),
        ("planned-improvements", 5),
        ("planned-improvements", "   "),
    ],
)
def test_a_value_of_the_wrong_kind_names_value(site, question, value):
    assessment = _new(site)
    with pytest.raises(ServiceError) as err:
        assessments.answer(MANAGER, assessment.pk, question, value)
    assert err.value.field == "value"
    assert not Answer.objects.exists()


def test_an_unknown_question_is_refused(site):
    assessment = _new(site)
    with pytest.raises(ServiceError) as err:
        assessments.answer(MANAGER, assessment.pk, "moat-depth", 3)
    assert err.value.field == "question"


# ----------------------------------------------------------------------------- method


def test_changing_the_method_clears_every_score(site):
    assessment = _new(site)
    score_all(MANAGER, assessment, 3)
    assert not assessment.risks.filter(inherent_score=None).exists()
    changed = assessments.set_method(MANAGER, assessment.pk, "fema452")
    assert changed.method == "fema452" and changed.method_params == {}
    assert all(
        r.inherent == {} and r.inherent_score is None and r.inherent_level == ""
        for r in assessment.risks.all()
    )
    actions = [e.action for e in ledger.entries_for("risk_assessment", str(assessment.pk))]
    assert "risk.assessment.method_changed" in actions


def test_a_bad_method_change_is_refused_and_keeps_the_scores(site):
    assessment = _new(site)
    score_all(MANAGER, assessment, 3)
    with pytest.raises(ServiceError) as err:
        assessments.set_method(MANAGER, assessment.pk, "matrix", {"size": 2})
    assert err.value.field == "method_params.size"
    assert not assessment.risks.filter(inherent_score=None).exists()


def test_the_method_of_a_finalised_assessment_cannot_change(site):
    assessment = complete(MANAGER, _new(site))
    with pytest.raises(Conflict) as err:
        assessments.set_method(MANAGER, assessment.pk, "carver")
    assert err.value.field == "method"
    assessment.refresh_from_db()
    assert assessment.method == "matrix"


# ----------------------------------------------------------------------------- finalising


def test_an_incomplete_assessment_lists_everything_missing(site):
    assessment = _new(site)
    assessments.answer(MANAGER, assessment.pk, "coordinator-named", True)
    theft = assessment.risks.get(key="theft")
    register.score_risk(MANAGER, theft.pk, inherent={"likelihood": 2, "impact": 2})
    with pytest.raises(IncompleteAssessment) as err:
        assessments.finalise(MANAGER, assessment.pk)
    assert err.value.field == "assessment"
    missing = err.value.missing
    shape = questionnaire.template("mail-centre")
    required = [q for s in shape.sections for q in s.questions if q.required]
    unanswered = [line for line in missing if line.startswith("Unanswered")]
    assert len(unanswered) == len(required) - 1
    assert any("Can that person stop mail processing" in line for line in unanswered)
    assert not any("Is one person named" in line for line in unanswered)
    unscored = [line for line in missing if "no inherent score" in line]
    assert len(unscored) == len(shape.threats) - 1
    assert not any("Theft of mail" in line for line in unscored)
    assert "Unanswered" in err.value.message
    assert type(assessment).objects.get(pk=assessment.pk).state == AssessmentState.DRAFT


def test_optional_questions_and_closed_risks_do_not_hold_finalising_up(site):
    assessment = _new(site)
    answer_all(MANAGER, assessment, required_only=True)
    disruption = assessment.risks.get(key="disruption")
    register.close_risk(MANAGER, disruption.pk, "the site has a second mailroom")
    for risk in assessment.risks.exclude(pk=disruption.pk):
        register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 3, "impact": 3})
    assert assessments.missing(assessment) == []


def test_finalising_fixes_the_assessment_writes_the_ledger_and_emits(site, frozen_clock):
    assessment = _new(site)
    answer_all(MANAGER, assessment)
    score_all(MANAGER, assessment, 2)
    insider = assessment.risks.get(key="insider")
    register.score_risk(MANAGER, insider.pk, inherent={"likelihood": 5, "impact": 5})
    theft = assessment.risks.get(key="theft")
    # High inherent, low residual: counted by its residual level.
    register.score_risk(
        MANAGER,
        theft.pk,
        inherent={"likelihood": 4, "impact": 4},
        residual={"likelihood": 1, "impact": 2},
    )
    frozen_clock.advance(hours=1)
    done = assessments.finalise(MANAGER, assessment.pk)
    assert done.state == AssessmentState.FINAL
    assert done.finalised_by == MANAGER.label
    assert done.finalised_at == frozen_clock()
    entry = ledger.entries_for("risk_assessment", str(assessment.pk))[-1]
    assert entry.action == "risk.assessment.finalised"
    assert ledger.entry_data(entry)["risks"]["insider"]["inherent_level"] == "critical"
    event = OutboxEvent.objects.get(topic="risk.assessment.finalised")
    assert event.payload["assessment"] == assessment.pk
    assert event.payload["site"] == "hq"
    assert event.payload["method"] == "matrix"
    assert event.payload["risks"] == 7
    assert event.payload["high_or_critical"] == 1


def test_a_finalised_assessment_refuses_changes(site):
    assessment = complete(MANAGER, _new(site))
    risk = assessment.risks.first()
    with pytest.raises(Conflict):
        assessments.answer(MANAGER, assessment.pk, "shifts", 2)
    with pytest.raises(Conflict):
        assessments.finalise(MANAGER, assessment.pk)
    with pytest.raises(Conflict):
        register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 1, "impact": 1})
    with pytest.raises(Conflict):
        register.add_risk(MANAGER, assessment.pk, title="Flood")
    with pytest.raises(Conflict):
        register.close_risk(MANAGER, risk.pk, "gone")
    assert OutboxEvent.objects.filter(topic="risk.assessment.finalised").count() == 1


def test_only_security_managers_finalise(site):
    assessment = _new(site)
    answer_all(MANAGER, assessment)
    score_all(MANAGER, assessment)
    with pytest.raises(Forbidden):
        assessments.finalise(AUDITOR, assessment.pk)


# ----------------------------------------------------------------------------- re-assessing


def test_a_reassessment_starts_from_the_last_final_one(site):
    first = _new(site)
    answer_all(MANAGER, first)
    score_all(MANAGER, first, 3)
    register.add_risk(MANAGER, first.pk, title="Flooded basement", threat="disruption")
    flood = first.risks.get(key="flooded-basement")
    register.score_risk(MANAGER, flood.pk, inherent={"likelihood": 2, "impact": 4})
    register.close_risk(MANAGER, first.risks.get(key="theft").pk, "no valuables any more")
    assessments.finalise(MANAGER, first.pk)

    second = _new(site)
    assert second.previous == first
    risks = {r.key: r for r in second.risks.all()}
    assert "theft" not in risks
    assert risks["flooded-basement"].inherent == {"likelihood": 2, "impact": 4}
    assert risks["flooded-basement"].inherent_score == 8
    assert risks["insider"].inherent_level == "medium"
    assert second.answers.count() == 0


def test_a_reassessment_by_another_method_starts_unscored(site):
    first = complete(MANAGER, _new(site))
    second = _new(site, method="carver")
    assert second.previous == first
    assert second.risks.count() == first.risks.count()
    assert not second.risks.exclude(inherent_score=None).exists()
    assert Risk.objects.filter(assessment=first).exclude(inherent_score=None).count() == 7


# ----------------------------------------------------------------------------- races


@pytest.mark.django_db(transaction=True)
def test_two_finalises_at_once_finalise_once(pg, frozen_clock):
    assessment = _new(make_site("hq"))
    answer_all(MANAGER, assessment)
    score_all(MANAGER, assessment)
    results = race(
        lambda: assessments.finalise(MANAGER, assessment.pk),
        lambda: assessments.finalise(MANAGER, assessment.pk),
    )
    assert sorted(type(r).__name__ for r in results) == ["Assessment", "Conflict"]
    assert OutboxEvent.objects.filter(topic="risk.assessment.finalised").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_method_change_racing_a_finalise_never_leaves_a_final_one_unscored(pg, frozen_clock):
    assessment = _new(make_site("hq"))
    answer_all(MANAGER, assessment)
    score_all(MANAGER, assessment)
    risk = assessment.risks.first()
    results = race(
        lambda: assessments.set_method(MANAGER, assessment.pk, "carver"),
        lambda: assessments.finalise(MANAGER, assessment.pk),
        lambda: register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 5, "impact": 5}),
    )
    assert not any(isinstance(r, Exception) and not isinstance(r, ServiceError) for r in results), (
        results
    )
    assessment.refresh_from_db()
    if assessment.final:
        assert assessment.method == "matrix"
        assert not assessment.risks.filter(inherent_score=None).exists()
    else:
        assert assessment.method == "carver"
