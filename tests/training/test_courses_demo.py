"""The demo's course part: rules, certificates current, due and expired, courses under way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailwarden.core.plugins import DemoOptions
from mailwarden.core.services import create_user
from mailwarden.training.demo import courses as demo
from mailwarden.training.models import Assignment, Certificate, Enrolment
from mailwarden.training.queries.courses import certificate_status
from tests.factories import ADMIN


@pytest.mark.django_db
def test_the_demo_seeds_certificates_of_every_state(frozen_clock) -> None:
    for username, role in (
        ("clerk", "clerk"),
        ("manager", "security_manager"),
        ("auditor", "auditor"),
        ("operator", "security_operator"),
        ("screener", "screener"),
    ):
        create_user(ADMIN, username, password="x", roles=[role], check_password=False)
    options = DemoOptions(
        seed=7, items=10, recipients=10, history_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    summary = demo.seed(options)
    assert summary.startswith("5 course certificates")
    states = sorted(certificate_status(c) for c in Certificate.objects.all())
    assert states == ["current", "current", "current", "due", "expired"]
    assert Assignment.objects.count() == 3
    assert Enrolment.objects.filter(course__slug="reporting-chain").count() == 2
    # The screener's duty course is left alone: without TIP trials it could not be passed.
    assert not Enrolment.objects.filter(user__username="screener", course__duty="screening")
