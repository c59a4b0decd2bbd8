"""Alarm rules decide what an alarm sets off, by type, site, severity and the time of day in
the site's own time zone; the clock is injected."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mailwarden.core.errors import Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.directory import services as directory
from mailwarden.incidents.models import Alarm, AlarmRule, RuleAction
from mailwarden.incidents.queries import alarms as queries
from mailwarden.incidents.services import alarms as services
from tests.factories import ADMIN
from tests.incidents.conftest import MANAGER, OPERATOR, deliver, forced

pytestmark = pytest.mark.django_db

NIGHT = services.RuleRequest(
    name="Out of hours", action="open_incident", starts_at=time(19, 0), ends_at=time(7, 0)
)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (time(18, 59), False),
        (time(19, 0), True),
        (time(23, 59), True),
        (time(0, 0), True),
        (time(6, 59), True),
        (time(7, 0), False),
    ],
)
def test_a_window_may_wrap_midnight(at, expected):
    assert queries.in_window(at, time(19, 0), time(7, 0)) is expected


def test_the_window_is_read_in_the_sites_time_zone(db, frozen_clock):
    directory.create_site(ADMIN, code="ny", name="New York", timezone="America/New_York")
    services.create_rule(MANAGER, services.RuleRequest(**{**NIGHT.__dict__, "site": "ny"}))
    # 23:30 UTC is 18:30 in New York (EST): before the window, though it is night in London.
    evening = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    night = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 19:30 in New York
    deliver(
        forced(1, at=evening).model_copy(update={"site": "ny"}),
        forced(2, door="DOCK", at=night).model_copy(update={"site": "ny"}),
    )
    lobby, dock = (
        Alarm.objects.get(source_key__endswith="LOBBY"),
        Alarm.objects.get(source_key__endswith="DOCK"),
    )
    assert lobby.action == RuleAction.LOG and lobby.rule is None
    assert dock.action == RuleAction.OPEN_INCIDENT and dock.rule is not None


def test_type_site_and_severity_narrow_a_rule_and_the_first_match_wins(site, frozen_clock):
    services.create_rule(
        MANAGER,
        services.RuleRequest(
            name="Forced doors notify",
            action="notify",
            alarm_type="access.door.forced",
            site="hq",
            position=1,
        ),
    )
    services.create_rule(
        MANAGER, services.RuleRequest(name="Critical", action="open_incident", min_severity=4)
    )
    at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert queries.decide("access.door.forced", site, 4, at)[1] == RuleAction.NOTIFY
    assert queries.decide("access.reader.tampered", site, 4, at)[1] == RuleAction.OPEN_INCIDENT
    assert queries.decide("access.reader.went_offline", site, 2, at)[1] == RuleAction.LOG


def test_rules_are_changed_by_managers_on_the_ledger(site, frozen_clock):
    rule = services.create_rule(MANAGER, NIGHT)
    changed = services.update_rule(
        MANAGER, rule.pk, services.RuleRequest(name="Nights", action="notify", site="hq")
    )
    assert (changed.name, changed.action, changed.site, changed.starts_at) == (
        "Nights",
        "notify",
        site,
        None,
    )
    services.delete_rule(MANAGER, rule.pk)
    assert not AlarmRule.objects.exists()
    actions = list(LedgerEntry.objects.filter(subject_type="alarm_rule").values_list("action"))
    assert actions == [
        ("incidents.rule.created",),
        ("incidents.rule.updated",),
        ("incidents.rule.deleted",),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"action": "page"}, "action"),
        ({"min_severity": 5}, "min_severity"),
        ({"ends_at": None}, "ends_at"),
        ({"starts_at": time(7, 0)}, "ends_at"),
        ({"position": -1}, "position"),
        ({"site": "nowhere"}, "site"),
        ({"name": "x" * 121}, "name"),
    ],
)
def test_a_bad_rule_names_its_field_and_changes_nothing(site, change, field):
    with pytest.raises(ServiceError) as refused:
        services.create_rule(MANAGER, services.RuleRequest(**{**NIGHT.__dict__, **change}))
    assert refused.value.field == field
    assert not AlarmRule.objects.exists()


def test_operators_cannot_change_rules(site):
    with pytest.raises(Forbidden):
        services.create_rule(OPERATOR, NIGHT)
    rule = services.create_rule(MANAGER, NIGHT)
    with pytest.raises(Forbidden):
        services.delete_rule(OPERATOR, rule.pk)
    with pytest.raises(NotFound) as missing:
        services.update_rule(MANAGER, rule.pk + 1, NIGHT)
    assert missing.value.field == "rule_id"
