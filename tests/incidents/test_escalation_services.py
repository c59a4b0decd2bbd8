"""Escalations end to end through the real outbox, handlers, periodic job and delivery queue:
policy selection, level 1 then level 2 after the delay, repeats, exhaustion, quorum,
acknowledgement (console and signed link), stopping on a state change, idempotent job runs, and
exercise labelling. The clock moves; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import signing

from mailwarden.contracts.events import IncidentAlarmAcknowledged
from mailwarden.core import clock
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.roles import Role
from mailwarden.incidents.models import (
    AlarmRule,
    Channel,
    Delivery,
    Escalation,
    EscalationState,
    TimelineEntry,
)
from mailwarden.incidents.queries import escalation as queries
from mailwarden.incidents.services import alarms as alarm_services
from mailwarden.incidents.services import escalation as services
from tests.incidents.conftest import deliver, threat
from tests.incidents.escalation_helpers import (
    BOSS,
    as_actor,
    move,
    open_incident,
    person,
    policy,
    queued,
    run_job,
    target,
    webhook_endpoint,
    weekly,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(site, frozen_clock):
    return {
        "ann": person("ann"),
        "bob": person("bob"),
        "cat": person("cat", Role.SECURITY_MANAGER),
        "dan": person("dan", Role.CLERK),
    }


@pytest.fixture
def two_levels(people):
    """Level 1: ann, 10 minutes; level 2: bob, a webhook and an MQTT topic, 10 minutes."""
    webhook_endpoint("soc")
    return policy(
        "Parcels",
        [
            ([target("user", people["ann"])], 10),
            (
                [
                    target("user", people["bob"]),
                    target("webhook", "soc"),
                    target("mqtt", "mailwarden/pages/hq"),
                ],
                10,
            ),
        ],
    )


def timeline(incident) -> list[str]:
    return list(
        TimelineEntry.objects.filter(incident=incident, kind="page")
        .order_by("id")
        .values_list("text", flat=True)
    )


def test_an_opened_incident_pages_level_1_then_level_2_after_the_delay(
    site, people, two_levels, frozen_clock
):
    incident = open_incident(site)
    escalation = Escalation.objects.get(ref=f"incident:{incident.pk}")
    assert (escalation.state, escalation.level, escalation.policy_name) == ("active", 0, "Parcels")
    assert queued() == [("inapp", str(people["ann"].pk)), ("email", "ann@example.org")]
    email = Delivery.objects.get(channel=Channel.EMAIL)
    assert email.key == f"escalation:{escalation.pk}:r1:l1:user:{people['ann'].pk}:email"
    assert email.ref == f"incident:{incident.pk}" and email.user_id == people["ann"].pk
    assert "/incidents/page/" in email.text and "INC-" in email.subject
    assert timeline(incident)[-1] == "Level 1 paged: ann"

    frozen_clock.advance(minutes=9)
    assert run_job() == 0  # not due yet
    frozen_clock.advance(minutes=1)
    assert run_job() == 1
    assert queued()[2:] == [
        ("inapp", str(people["bob"].pk)),
        ("email", "bob@example.org"),
        ("webhook", "soc"),
        ("mqtt", "mailwarden/pages/hq"),
    ]
    mqtt = Delivery.objects.get(channel=Channel.MQTT)
    assert mqtt.payload["level"] == 2 and mqtt.payload["incident"] == incident.reference
    assert timeline(incident)[-1] == "Level 2 paged: bob, webhook soc, MQTT mailwarden/pages/hq"
    escalation.refresh_from_db()
    assert escalation.level == 1 and escalation.next_at == clock.now() + timedelta(minutes=10)


def test_running_the_job_twice_queues_nothing_new(site, people, two_levels, frozen_clock):
    open_incident(site)
    frozen_clock.advance(minutes=10)
    assert run_job() == 1
    count = Delivery.objects.count()
    assert run_job() == 0
    assert Delivery.objects.count() == count
    # The same incident opened event delivered again starts nothing new either.
    incident = Escalation.objects.get().incident
    assert services.start_for_incident(services.JOB, incident.pk) is None
    assert Escalation.objects.count() == 1


def test_repeats_then_exhausted_and_still_listed(site, people, frozen_clock):
    policy("Once more", [([target("user", people["ann"])], 5)], repeat=1)
    incident = open_incident(site)
    frozen_clock.advance(minutes=5)
    assert run_job() == 1  # round 2, level 1
    keys = set(Delivery.objects.values_list("key", flat=True))
    assert any(":r2:l1:" in k for k in keys) and any(":r1:l1:" in k for k in keys)
    frozen_clock.advance(minutes=5)
    assert run_job() == 1  # exhausted
    escalation = Escalation.objects.get()
    assert escalation.state == EscalationState.EXHAUSTED and escalation.next_at is None
    assert timeline(incident)[-2:] == [
        "Level 1, round 2 paged: ann",
        "Escalation exhausted: all 1 level paged 2 times. Nobody acknowledged the page.",
    ]
    assert escalation in queries.recent_escalations()
    frozen_clock.advance(hours=1)
    assert run_job() == 0


def test_acknowledgement_by_a_paged_person_stops_it(site, people, two_levels, frozen_clock):
    incident = open_incident(site)
    result = services.acknowledge(as_actor(people["ann"]), Escalation.objects.get().pk)
    assert result.stopped and result.escalation.state == EscalationState.ACKNOWLEDGED
    frozen_clock.advance(minutes=30)
    assert run_job() == 0
    assert {a for _, a in queued()} == {str(people["ann"].pk), "ann@example.org"}
    assert timeline(incident)[-1] == "Page acknowledged by user:ann; escalation stopped"
    with pytest.raises(Conflict) as again:
        services.acknowledge(as_actor(people["cat"]), result.escalation.pk)
    assert "acknowledged" in again.value.message


def test_who_may_acknowledge(site, people, two_levels):
    open_incident(site)
    escalation = Escalation.objects.get()
    # bob is not paged yet (level 2) and a clerk never was: neither may acknowledge.
    operator_bob = as_actor(people["bob"])
    assert operator_bob.has(Role.SECURITY_OPERATOR)  # operators may, paged or not
    with pytest.raises(Forbidden):
        services.acknowledge(as_actor(people["dan"]), escalation.pk)
    with pytest.raises(NotFound):
        services.acknowledge(as_actor(people["cat"]), 999_999)
    # A security manager may, without being paged.
    assert services.acknowledge(as_actor(people["cat"]), escalation.pk).stopped


def test_a_paged_clerk_may_acknowledge(site, people):
    policy("Clerks", [([target("user", people["dan"])], 5)])
    open_incident(site)
    assert services.acknowledge(as_actor(people["dan"]), Escalation.objects.get().pk).stopped


def test_quorum_met_stops_it(site, people, frozen_clock):
    policy(
        "Two of three",
        [
            (
                [
                    target("user", people["ann"]),
                    target("user", people["bob"]),
                    target("user", people["cat"]),
                ],
                10,
                2,
            ),
            ([target("user", people["dan"])], 10),
        ],
    )
    incident = open_incident(site)
    escalation = Escalation.objects.get()
    first = services.acknowledge(as_actor(people["ann"]), escalation.pk)
    assert (first.stopped, first.count, first.needed) == (False, 1, 2)
    with pytest.raises(Conflict):
        services.acknowledge(as_actor(people["ann"]), escalation.pk)  # one person counts once
    frozen_clock.advance(minutes=9)
    second = services.acknowledge(as_actor(people["bob"]), escalation.pk)
    assert second.stopped
    frozen_clock.advance(minutes=5)
    assert run_job() == 0
    assert not Delivery.objects.filter(user=people["dan"]).exists()
    assert "(1 of 2 needed); still paging" in timeline(incident)[-2]


def test_quorum_not_met_pages_the_next_level(site, people, frozen_clock):
    policy(
        "Two needed",
        [
            ([target("user", people["ann"]), target("user", people["bob"])], 10, 2),
            ([target("user", people["cat"])], 10),
        ],
    )
    open_incident(site)
    escalation = Escalation.objects.get()
    services.acknowledge(as_actor(people["ann"]), escalation.pk)
    frozen_clock.advance(minutes=10)
    assert run_job() == 1
    assert Delivery.objects.filter(user=people["cat"], channel=Channel.EMAIL).exists()
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.ACTIVE and escalation.level == 1
    # The second level's quorum (1) is counted afresh: cat's answer stops it.
    assert services.acknowledge(as_actor(people["cat"]), escalation.pk).stopped


def test_a_state_change_stops_the_escalation(site, people, two_levels, frozen_clock):
    incident = open_incident(site)
    move(incident, "contained")
    escalation = Escalation.objects.get()
    assert escalation.state == EscalationState.CANCELLED
    assert escalation.ended_reason == "the incident is contained (user:mona)"
    frozen_clock.advance(minutes=30)
    assert run_job() == 0
    assert timeline(incident)[-1] == "Escalation stopped: the incident is contained (user:mona)"


def test_policy_selection_by_type_site_and_severity(site, people):
    from tests.factories import make_site

    other = make_site("annex")
    ann = [target("user", people["ann"])]
    policy(
        "Annex bombs", [(ann, 5)], matches=[services.MatchRequest("bomb_threat", "annex", 4, 10)]
    )
    policy("Severe", [(ann, 5)], matches=[services.MatchRequest("", None, 2, 20)])
    policy("Fallback", [(ann, 5)], matches=[services.MatchRequest("", None, 4, 30)])

    def chosen(where, **kw):
        incident = open_incident(where, **kw)
        return Escalation.objects.get(ref=f"incident:{incident.pk}").policy_name

    assert chosen(other, type="bomb_threat", severity=4) == "Annex bombs"
    assert chosen(site, type="bomb_threat", severity=4) == "Fallback"
    assert chosen(site, type="bomb_threat", severity=2) == "Severe"
    assert chosen(other, type="unattended_item", severity=1) == "Severe"


def test_no_matching_policy_pages_nobody(site, people):
    policy("Annex", [([target("user", people["ann"])], 5)], matches=[])
    open_incident(site)
    assert not Escalation.objects.exists() and not Delivery.objects.exists()


def test_schedules_and_roles_as_targets(site, people, frozen_clock):
    desk = weekly("Desk", [people["bob"]], clock.now() - timedelta(days=1))
    policy(
        "Mixed",
        [([target("schedule", desk), target("role", "security_manager", scope="site")], 5)],
    )
    incident = open_incident(site)
    line = timeline(incident)[-1]
    # Nobody holds access at the site: the role is paged everywhere rather than nobody.
    assert line.startswith("Level 1 paged: bob (on call: Desk), cat")
    assert "paged them at every site" in line
    assert {u for u in Delivery.objects.values_list("user__username", flat=True)} == {"bob", "cat"}


def test_nobody_on_call_is_said_on_the_timeline(site, people, frozen_clock):
    later = weekly("Later", [people["bob"]], clock.now() + timedelta(days=1))
    policy("Empty", [([target("schedule", later)], 5)])
    incident = open_incident(site)
    assert timeline(incident)[-1] == "Level 1 paged: nobody (nobody is on call on Later)"


def test_an_exercise_pages_labelled_exercise(site, people, two_levels):
    incident = open_incident(site, exercise=True)
    email = Delivery.objects.get(channel=Channel.EMAIL)
    assert email.exercise and email.subject.startswith("EXERCISE")
    assert email.text.startswith("EXERCISE")
    assert Escalation.objects.get(incident=incident).exercise


def test_the_signed_link_acknowledges_as_its_person(site, people, two_levels, frozen_clock):
    open_incident(site)
    escalation = Escalation.objects.get()
    email = Delivery.objects.get(channel=Channel.EMAIL)
    url = next(w for w in email.text.split() if "/incidents/page/" in w)
    token = urlparse(url).path.rstrip("/").rsplit("/", 1)[1]
    assert services.read_ack_token(token) == (escalation.pk, people["ann"].pk)
    with pytest.raises(ServiceError) as forged:
        services.read_ack_token(token[:-2] + "xx")
    assert forged.value.field == "token"
    result = services.acknowledge_by_link(token)
    assert result.stopped and result.escalation.ended_by == "user:ann"
    assert result.escalation.acks.get().via == "link"


def test_the_signed_link_expires(site, people, two_levels, frozen_clock):
    open_incident(site)
    token = services.ack_token(Escalation.objects.get().pk, people["ann"].pk)
    frozen_clock.advance(hours=25)
    with pytest.raises(ServiceError) as expired:
        services.acknowledge_by_link(token)
    assert "expired" in expired.value.message
    other_salt = signing.dumps({"e": 1, "u": people["ann"].pk, "x": 2**40}, salt="other")
    with pytest.raises(ServiceError):
        services.read_ack_token(other_salt)


def test_a_notify_alarm_pages_with_its_rules_policy_and_stops_when_acknowledged(
    site, people, frozen_clock
):
    rule = alarm_services.create_rule(
        BOSS, alarm_services.RuleRequest(name="Threats", action="notify")
    )
    policy("Alarm pager", [([target("user", people["ann"])], 5)], matches=[], alarm_rules=[rule.pk])
    assert AlarmRule.objects.get().escalation_policy.name == "Alarm pager"
    deliver(threat())
    deliver()  # the alarm raised event the screening alarm's handler emitted
    escalation = Escalation.objects.get()
    assert escalation.ref.startswith("alarm:") and escalation.site == site
    assert Delivery.objects.filter(user=people["ann"]).count() == 2
    deliver(IncidentAlarmAcknowledged(alarm=escalation.alarm_id, by="user:otto", note=""))
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.CANCELLED


def test_an_open_incident_rule_alarm_starts_no_alarm_escalation(site, people):
    alarm_services.create_rule(BOSS, alarm_services.RuleRequest(name="Log", action="log"))
    deliver(threat())
    deliver()
    assert not Escalation.objects.exists()


def test_people_cannot_start_move_or_stop_escalations(site, people):
    with pytest.raises(Forbidden):
        services.start_for_incident(as_actor(people["cat"]), 1)
    with pytest.raises(Forbidden):
        services.advance_due(as_actor(people["cat"]))
    with pytest.raises(Forbidden):
        services.stop(as_actor(people["cat"]), "incident:1", "no")


def test_only_managers_change_policies_and_schedules(site, people):
    operator = as_actor(people["ann"])
    with pytest.raises(Forbidden):
        policy_request = services.PolicyRequest("x", [services.LevelRequest([])])
        services.create_policy(operator, policy_request)
    with pytest.raises(Forbidden):
        services.create_schedule(operator, services.ScheduleRequest("x"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"levels": []}, "levels"),
        ({"levels": [services.LevelRequest([])]}, "levels.0.targets"),
        ({"delay": 1441}, "levels.0.delay_minutes"),
        ({"delay": -1}, "levels.0.delay_minutes"),
        ({"quorum": 2}, "levels.0.quorum"),
        ({"quorum": 0}, "levels.0.quorum"),
        ({"target": services.TargetRequest("user", user_id=999_999)}, "levels.0.targets.0.user_id"),
        ({"target": services.TargetRequest("role", role="pilot")}, "levels.0.targets.0.role"),
        (
            {"target": services.TargetRequest("schedule", schedule_id=9)},
            "levels.0.targets.0.schedule_id",
        ),
        (
            {"target": services.TargetRequest("webhook", address="no such")},
            "levels.0.targets.0.address",
        ),
        (
            {"target": services.TargetRequest("mqtt", address="other/x")},
            "levels.0.targets.0.address",
        ),
        (
            {"target": services.TargetRequest("mqtt", address="mailwarden/#")},
            "levels.0.targets.0.address",
        ),
        ({"target": services.TargetRequest("pager")}, "levels.0.targets.0.kind"),
        ({"repeat": 10}, "repeat"),
        ({"matches": [services.MatchRequest("fire")]}, "matches.0.incident_type"),
        ({"matches": [services.MatchRequest("", "nowhere")]}, "matches.0.site"),
        ({"matches": [services.MatchRequest("", None, 5)]}, "matches.0.min_severity"),
        ({"alarm_rules": [999_999]}, "alarm_rules"),
        ({"name": " "}, "name"),
    ],
)
def test_policy_validation_names_the_field(site, people, change, field):
    target_request = change.get("target", services.TargetRequest("user", user_id=people["ann"].pk))
    levels = change.get(
        "levels",
        [
            services.LevelRequest(
                [target_request],
                delay_minutes=change.get("delay", 5),
                quorum=change.get("quorum", 1),
            )
        ],
    )
    with pytest.raises(ServiceError) as refused:
        services.create_policy(
            BOSS,
            services.PolicyRequest(
                name=change.get("name", "P"),
                levels=levels,
                repeat=change.get("repeat", 0),
                matches=change.get("matches", ()),
                alarm_rules=change.get("alarm_rules", ()),
            ),
        )
    assert refused.value.field == field, refused.value.message


def test_unknown_webhook_endpoints_are_refused_once_endpoints_exist(site, people):
    from django.apps import apps

    try:
        apps.get_model("incidents", "WebhookEndpoint")
    except LookupError:
        pytest.skip("the webhook endpoint table comes with the delivery channels")
    webhook_endpoint("soc")
    ann = target("user", people["ann"])
    policy("Known", [([ann, target("webhook", "soc")], 5)])
    with pytest.raises(NotFound) as unknown:
        policy("Unknown", [([ann, target("webhook", "noc")], 5)])
    assert unknown.value.field == "levels.0.targets.1.address"


def test_a_policy_paging_now_cannot_be_removed(site, people, two_levels):
    open_incident(site)
    with pytest.raises(Conflict):
        services.delete_policy(BOSS, two_levels.pk)
    services.acknowledge(as_actor(people["cat"]), Escalation.objects.get().pk)
    services.delete_policy(BOSS, two_levels.pk)
    assert Escalation.objects.get().policy is None


def test_a_schedule_a_policy_pages_cannot_be_removed(site, people):
    desk = weekly("Desk", [people["bob"]], clock.now())
    policy("Desk", [([target("schedule", desk)], 5)])
    with pytest.raises(Conflict) as refused:
        services.delete_schedule(BOSS, desk.pk)
    assert "Desk" in refused.value.message


def test_a_role_at_the_site_pages_those_holding_access_there(site, people):
    from mailwarden.access import services as access
    from tests.factories import ADMIN, make_site

    make_site("annex")
    hours = access.levels.create_schedule(
        ADMIN,
        site="hq",
        name="hours",
        windows=[{"days": ["mon"], "start": "08:00", "end": "18:00"}],
    )
    level = access.levels.create_level(ADMIN, site="hq", name="staff", schedule_id=hours.pk)
    holder = access.credentials.create_cardholder(ADMIN, name="Bob", user_id=people["bob"].pk)
    access.credentials.issue_credential(
        ADMIN,
        access.credentials.CredentialData(
            holder_id=holder.pk, format="H10301", facility=1, card=7, level_ids=[level.pk]
        ),
    )
    policy("Site operators", [([target("role", "security_operator", scope="site")], 5)])
    incident = open_incident(site)
    # ann is an operator too, but holds no access at hq: only bob is paged.
    assert timeline(incident)[-1] == "Level 1 paged: bob"


def test_the_background_tick_runs_the_escalation_job(site, people, two_levels, frozen_clock):
    from mailwarden.core import tasks

    open_incident(site)
    frozen_clock.advance(minutes=10)
    result = tasks.tick(clock.now())
    assert result.jobs["incidents-escalation"] == 1
    assert queued(channel=Channel.MQTT) == [("mqtt", "mailwarden/pages/hq")]
    assert tasks.tick(clock.now()).jobs["incidents-escalation"] == 0


def test_pages_still_waiting_are_cancelled_once_acknowledged(site, people, two_levels):
    from mailwarden.incidents.models import DeliveryStatus

    open_incident(site)
    Delivery.objects.filter(channel=Channel.INAPP).update(status=DeliveryStatus.SENT)
    services.acknowledge(as_actor(people["ann"]), Escalation.objects.get().pk)
    assert dict(Delivery.objects.values_list("channel", "status")) == {
        "inapp": "sent",
        "email": "cancelled",
    }
    assert (
        Delivery.objects.get(channel=Channel.EMAIL).last_error
        == "not sent: acknowledged by user:ann"
    )
