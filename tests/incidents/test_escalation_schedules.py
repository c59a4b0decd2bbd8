"""On-call schedule maths: handoffs, weekly and N-hour rotations, a daily handoff across the
clock change, layers on top of each other, and overrides winning."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.incidents.queries.escalation import current_and_next, shifts, who_is_on_call
from mailwarden.incidents.services import escalation as services
from tests.incidents.escalation_helpers import BOSS, person, weekly

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 09:00 in London (GMT)


@pytest.fixture
def crew():
    return [person("ann"), person("bob"), person("cat")]


def on_call(schedule, at: datetime) -> str | None:
    who = who_is_on_call(schedule, at)
    if who is None:
        return None
    from django.contrib.auth.models import User

    return User.objects.get(pk=who.user_id).username


def test_weekly_rotation_hands_off_at_its_start_time(crew):
    schedule = weekly("Desk", crew, MONDAY_9)
    assert on_call(schedule, MONDAY_9 - timedelta(minutes=1)) is None  # not started yet
    assert on_call(schedule, MONDAY_9) == "ann"
    assert on_call(schedule, MONDAY_9 + timedelta(days=6, hours=23, minutes=59)) == "ann"
    assert on_call(schedule, MONDAY_9 + timedelta(days=7)) == "bob"
    assert on_call(schedule, MONDAY_9 + timedelta(days=14)) == "cat"
    assert on_call(schedule, MONDAY_9 + timedelta(days=21)) == "ann"  # round again


def test_daily_handoff_keeps_its_local_time_across_the_clock_change(crew):
    # London moves to BST on Sunday 29 March 2026: 09:00 local is 09:00 UTC before, 08:00 after.
    schedule = weekly("Daily", crew[:2], MONDAY_9, kind="daily")
    saturday = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    monday_after = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 09:00 BST
    # Saturday 28 March is day 26 (ann); Sunday's handoff is at 09:00 BST, which is 08:00 UTC.
    assert on_call(schedule, saturday) == "ann"
    sunday_handoff = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert on_call(schedule, sunday_handoff - timedelta(minutes=1)) == "ann"
    assert on_call(schedule, sunday_handoff) == "bob"
    # Monday 30 March, day 28, hands back to ann at 09:00 BST as well.
    assert on_call(schedule, monday_after - timedelta(minutes=1)) == "bob"
    assert on_call(schedule, monday_after) == "ann"
    assert monday_after - sunday_handoff == timedelta(days=1)


def test_n_hour_rotation_counts_real_hours(crew):
    schedule = weekly("Shifts", crew, MONDAY_9, kind="hours", length_hours=12)
    assert on_call(schedule, MONDAY_9 + timedelta(hours=11, minutes=59)) == "ann"
    assert on_call(schedule, MONDAY_9 + timedelta(hours=12)) == "bob"
    assert on_call(schedule, MONDAY_9 + timedelta(hours=24)) == "cat"
    assert on_call(schedule, MONDAY_9 + timedelta(hours=36)) == "ann"


def test_a_night_layer_lies_on_top_of_the_week(crew):
    ann, bob, cat = crew
    schedule = services.create_schedule(
        BOSS,
        services.ScheduleRequest(
            name="Layers",
            timezone="Europe/London",
            layers=[
                services.LayerRequest("Week", "weekly", MONDAY_9, [ann.pk]),
                services.LayerRequest(
                    "Nights",
                    "daily",
                    MONDAY_9,
                    [bob.pk, cat.pk],
                    window_from=time(19, 0),
                    window_until=time(7, 0),
                ),
            ],
        ),
    )
    assert on_call(schedule, MONDAY_9 + timedelta(hours=3)) == "ann"  # 12:00, day
    assert on_call(schedule, MONDAY_9 + timedelta(hours=11)) == "bob"  # 20:00
    assert on_call(schedule, MONDAY_9 + timedelta(hours=21)) == "bob"  # 06:00 Tuesday
    assert on_call(schedule, MONDAY_9 + timedelta(hours=35)) == "cat"  # 20:00 Tuesday
    assert who_is_on_call(schedule, MONDAY_9 + timedelta(hours=11)).source == "Nights"


def test_an_override_wins_for_its_period_only(crew):
    ann, bob, cat = crew
    schedule = weekly("Desk", [ann, bob], MONDAY_9)
    services.add_override(
        BOSS,
        schedule.pk,
        services.OverrideRequest(
            cat.pk, MONDAY_9 + timedelta(days=2), MONDAY_9 + timedelta(days=3), note="ann away"
        ),
    )
    assert on_call(schedule, MONDAY_9 + timedelta(days=2) - timedelta(seconds=1)) == "ann"
    assert on_call(schedule, MONDAY_9 + timedelta(days=2)) == "cat"
    assert who_is_on_call(schedule, MONDAY_9 + timedelta(days=2)).source == "override"
    assert on_call(schedule, MONDAY_9 + timedelta(days=3)) == "ann"


def test_current_and_next_and_the_week_ahead(crew):
    ann, bob, cat = crew
    schedule = weekly("Desk", [ann, bob], MONDAY_9)
    services.add_override(
        BOSS,
        schedule.pk,
        services.OverrideRequest(
            cat.pk, MONDAY_9 + timedelta(days=1), MONDAY_9 + timedelta(days=2)
        ),
    )
    current, following = current_and_next(schedule, MONDAY_9 + timedelta(hours=1))
    assert current is not None and following is not None
    assert current.user_id == ann.pk and current.ends_at == MONDAY_9 + timedelta(days=1)
    assert following.user_id == cat.pk and following.source == "override"
    week = shifts(schedule, MONDAY_9, MONDAY_9 + timedelta(days=7))
    assert [(s.user_id, (s.ends_at - s.starts_at).days) for s in week] == [
        (ann.pk, 1),
        (cat.pk, 1),
        (ann.pk, 5),
    ]


def test_schedule_validation_names_the_field(crew):
    ann = crew[0]

    def make(**kw):
        layer = {"name": "L", "kind": "weekly", "starts_at": MONDAY_9, "members": [ann.pk]}
        layer.update(kw.pop("layer", {}))
        return services.create_schedule(
            BOSS,
            services.ScheduleRequest(
                name=kw.get("name", "S"),
                timezone=kw.get("timezone", "UTC"),
                layers=kw.get("layers", [services.LayerRequest(**layer)]),
            ),
        )

    cases = [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"layers": []}, "layers"),
        ({"layer": {"members": []}}, "layers.0.members"),
        ({"layer": {"members": [999_999]}}, "layers.0.members"),
        ({"layer": {"kind": "monthly"}}, "layers.0.kind"),
        ({"layer": {"kind": "hours", "length_hours": 0}}, "layers.0.length_hours"),
        ({"layer": {"starts_at": datetime(2026, 3, 2, 9)}}, "layers.0.starts_at"),
        ({"layer": {"window_from": time(19)}}, "layers.0.window_until"),
    ]
    for kw, field in cases:
        with pytest.raises(ServiceError) as refused:
            make(**kw)
        assert refused.value.field == field, (kw, refused.value.message)
    make()
    with pytest.raises(ServiceError) as taken:
        make()
    assert taken.value.field == "name"
    with pytest.raises(NotFound):
        services.add_override(
            BOSS, 999_999, services.OverrideRequest(ann.pk, MONDAY_9, MONDAY_9 + timedelta(hours=1))
        )
    with pytest.raises(ServiceError) as backwards:
        services.add_override(
            BOSS, 1, services.OverrideRequest(ann.pk, MONDAY_9, MONDAY_9 - timedelta(hours=1))
        )
    assert backwards.value.field == "ends_at"
