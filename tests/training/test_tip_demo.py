"""The demo's TIP part: simulated screeners leave trials whose measures order them by the
sensitivity they were simulated with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User

from mailwarden.core.plugins import DemoOptions
from mailwarden.training.demo import tip as demo
from mailwarden.training.models import TipSession, TipTrial
from mailwarden.training.queries.tip import screener_measures

pytestmark = pytest.mark.django_db

OPTIONS = DemoOptions(seed=7, items=10, recipients=5, history_from=datetime(2026, 2, 1, tzinfo=UTC))


def test_demo_trainees_answer_every_image_of_their_sessions() -> None:
    trainees = (
        demo.Trainee("sharp", "Ana", "Sharp", 3.0, 0.0, 2),
        demo.Trainee("blind", "Bo", "Blind", 0.0, 0.0, 1),
    )
    answered = demo.seed_trainees(OPTIONS, trainees, size=6)
    assert answered == 18
    assert TipTrial.objects.filter(outcome="").count() == 0
    assert not TipSession.objects.filter(finished_at__isnull=True).exists()
    sharp = User.objects.get(username="sharp")
    first = TipTrial.objects.filter(user=sharp).order_by("presented_at").first()
    assert first is not None and first.presented_at.date() == datetime(2026, 2, 3).date()
    m = screener_measures(sharp.pk)
    assert m.trials == 12 and m.signal_trials == 6
    assert m.dprime is not None and m.dprime > 1.0


def test_demo_screeners_span_a_range_of_sensitivity() -> None:
    assert [t.dprime for t in demo.TRAINEES] == sorted(
        (t.dprime for t in demo.TRAINEES), reverse=True
    )
    assert all(40 <= t.sessions * demo.SESSION_SIZE <= 80 for t in demo.TRAINEES)
