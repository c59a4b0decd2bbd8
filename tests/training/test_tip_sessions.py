"""TIP training sessions through the services: the plan, the adaptive ladder, answers scored
by where the mark is, real cleared scans as backgrounds, and refusals."""

from __future__ import annotations

import pytest

from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.ledger import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.directory.models import Recipient
from mailwarden.screening import services as screening
from mailwarden.screening.models import ScanSource
from mailwarden.screening.services import Checklist
from mailwarden.training.models import TipLevel, TipOutcome, TipSession, TipTrial
from mailwarden.training.queries.tip import session_summary
from mailwarden.training.services import tip
from tests.factories import CLERK, intake, make_recipient, make_site
from tests.screening.conftest import clean_pair, colour_rgb  # noqa: F401
from tests.training import conftest_c

pytestmark = pytest.mark.django_db

# Fixtures shared by the TIP tests.
person = conftest_c.person
screener = conftest_c.screener


def centre(trial: TipTrial) -> tuple[float, float]:
    x0, y0, x1, y1 = trial.bbox
    return (x0 + x1) / 2, (y0 + y1) / 2


def test_a_session_plans_its_share_of_threat_images(screener: Actor) -> None:
    session = tip.start_session(screener, size=10, threat_share=0.3, seed=5)
    assert sum(tip._plan(session)) == 3
    assert tip._plan(session) == tip._plan(TipSession.objects.get(pk=session.pk))


def test_the_same_image_waits_until_it_is_answered(screener: Actor) -> None:
    session = tip.start_session(screener, size=2, threat_share=1.0, seed=1)
    first = tip.current_trial(screener, session.pk)
    assert first is not None and first.position == 0
    assert tip.current_trial(screener, session.pk) == first
    assert TipTrial.objects.count() == 1
    assert first.category in tip.CATEGORIES and first.bbox is not None
    assert first.background == "simulated" and (first.width, first.height) == (512, 384)
    tip.answer(screener, first.pk, response="clear")
    second = tip.current_trial(screener, session.pk)
    assert second is not None and second.position == 1


def test_a_mark_on_the_threat_is_a_hit_and_three_hits_climb_a_level(screener: Actor) -> None:
    session = tip.start_session(screener, size=4, threat_share=1.0, categories=["gun"], seed=2)
    levels = []
    for _ in range(3):
        trial = tip.current_trial(screener, session.pk)
        assert trial is not None and trial.category == "gun"
        feedback = tip.answer(screener, trial.pk, response="threat", mark=centre(trial))
        assert feedback.outcome == TipOutcome.HIT and feedback.correct
        assert feedback.message.startswith("You found the")
        levels.append(feedback.level_after)
    assert levels == [1, 1, 2]
    trial = tip.current_trial(screener, session.pk)
    assert trial is not None and trial.difficulty["level"] == 2
    assert trial.difficulty["viewpoint"] > 0
    feedback = tip.answer(screener, trial.pk, response="clear")
    assert feedback.outcome == TipOutcome.MISS and "cleared" in feedback.message
    assert feedback.bbox == trial.bbox
    assert (feedback.level_before, feedback.level_after) == (2, 1)
    assert TipLevel.objects.get(user_id=screener.user_id, category="gun").level == 1
    assert tip.levels_of(screener.user_id or 0) == {"knife": 1, "gun": 1, "ied": 1, "explosive": 1}


def test_a_mark_away_from_the_threat_is_a_miss(screener: Actor) -> None:
    session = tip.start_session(screener, size=1, threat_share=1.0, seed=3)
    trial = tip.current_trial(screener, session.pk)
    assert trial is not None
    x0, y0, _, _ = trial.bbox
    away = (0.01, 0.01) if x0 > 0.1 or y0 > 0.1 else (0.99, 0.99)
    feedback = tip.answer(screener, trial.pk, response="threat", mark=away)
    assert feedback.outcome == TipOutcome.MISS and "not on it" in feedback.message


def test_clean_images_score_false_alarms_and_correct_rejections(screener: Actor) -> None:
    session = tip.start_session(screener, size=2, threat_share=0.0, seed=4)
    first = tip.current_trial(screener, session.pk)
    assert first is not None and first.bbox is None and first.category == ""
    feedback = tip.answer(screener, first.pk, response="threat", mark=(0.5, 0.5))
    assert feedback.outcome == TipOutcome.FALSE_ALARM and feedback.bbox is None
    second = tip.current_trial(screener, session.pk)
    assert second is not None
    feedback = tip.answer(screener, second.pk, response="clear", response_ms=2300)
    assert feedback.outcome == TipOutcome.CORRECT_REJECTION and feedback.session_done
    # Clean images leave the ladder alone.
    assert not TipLevel.objects.filter(user_id=screener.user_id).exclude(level=1).exists()
    session.refresh_from_db()
    assert session.finished_at is not None
    assert tip.current_trial(screener, session.pk) is None
    summary = session_summary(session)
    assert summary.answered == 2 and summary.measures.false_alarms == 1
    assert summary.measures.dprime is None  # no threat images: no d′, no division
    actions = list(
        LedgerEntry.objects.filter(subject_type__startswith="tip_").values_list("action", flat=True)
    )
    assert actions.count("training.tip_trial.answered") == 2
    assert "training.tip_session.finished" in actions


def test_answers_are_refused_with_the_reason(screener: Actor, person) -> None:
    session = tip.start_session(screener, size=2, threat_share=1.0, seed=6)
    trial = tip.current_trial(screener, session.pk)
    assert trial is not None
    with pytest.raises(ServiceError, match="click where") as exc:
        tip.answer(screener, trial.pk, response="threat")
    assert exc.value.field == "mark"
    with pytest.raises(ServiceError) as exc:
        tip.answer(screener, trial.pk, response="maybe")
    assert exc.value.field == "response"
    with pytest.raises(ServiceError) as exc:
        tip.answer(screener, trial.pk, response="threat", mark=(1.5, 0.2))
    assert exc.value.field == "mark"
    with pytest.raises(ServiceError) as exc:
        tip.answer(screener, trial.pk, response="clear", response_ms=-1)
    assert exc.value.field == "response_ms"
    other = Actor.for_user(person(Role.SCREENER, "other-screener"))
    with pytest.raises(NotFound):
        tip.answer(other, trial.pk, response="clear")
    with pytest.raises(NotFound):
        tip.current_trial(other, session.pk)
    assert TipTrial.objects.get(pk=trial.pk).outcome == ""
    tip.answer(screener, trial.pk, response="clear")
    with pytest.raises(Conflict, match="answered already"):
        tip.answer(screener, trial.pk, response="clear")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 500}, "size"),
        ({"threat_share": 1.5}, "threat_share"),
        ({"threat_share": float("nan")}, "threat_share"),
        ({"categories": ["spoon"]}, "categories"),
    ],
)
def test_bad_sessions_are_refused(screener: Actor, kwargs: dict, field: str) -> None:
    with pytest.raises(ServiceError) as exc:
        tip.start_session(screener, **kwargs)
    assert exc.value.field == field
    assert not TipSession.objects.exists()


def test_only_screeners_train(person) -> None:
    clerk = Actor.for_user(person(Role.CLERK, "a-clerk"))
    with pytest.raises(Forbidden):
        tip.start_session(clerk)
    with pytest.raises(Forbidden):
        tip.start_session(CLERK)


def test_a_new_session_closes_the_unfinished_one(screener: Actor) -> None:
    first = tip.start_session(screener, size=5, seed=7)
    assert tip.open_session(screener) == first
    second = tip.start_session(screener, size=5, seed=8)
    first.refresh_from_db()
    assert first.finished_at is not None and tip.open_session(screener) == second
    assert LedgerEntry.objects.filter(action="training.tip_session.abandoned").count() == 1


def test_cleared_scans_of_the_screeners_site_are_the_backgrounds(
    screener: Actor,
    clean_pair,  # noqa: F811
) -> None:
    site = make_site("tipsite")
    worker = make_recipient(first_name="Sam", last_name="Screener", site=site.code)
    Recipient.objects.filter(pk=worker.pk).update(user_id=screener.user_id)
    item = intake(site, make_recipient())
    scan = screening.import_scan(
        screener,
        item.uid,  # type: ignore[attr-defined]
        screening.ScanUpload(high=clean_pair.high, low=clean_pair.low, filename="c.tif"),
        source=ScanSource.API,
    )
    # Not yet cleared: no real background.
    assert tip.cleared_scans(site.pk) == []
    screening.screen_item(screener, item.uid, Checklist(indicators=[]))  # type: ignore[attr-defined]
    assert tip.cleared_scans(site.pk) == [scan.pk]
    session = tip.start_session(screener, size=2, threat_share=0.5, seed=9)
    trial = tip.current_trial(screener, session.pk)
    assert trial is not None
    assert trial.background == "cleared-scan" and trial.scan_id == scan.pk
    assert (trial.width, trial.height) == (scan.width, scan.height)
    assert trial.site_id == site.pk
