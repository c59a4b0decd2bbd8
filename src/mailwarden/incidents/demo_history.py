"""The demo's incident-response past, seeded through this app's services under a back-dated clock
so every time, timeline line and ledger entry is dated in the demo's history:

- an on-call schedule (the demo's operator and manager, weekly) and an escalation policy for the
  demo site: level 1 the operator, level 2 the manager and an MQTT topic;
- three real incidents run through to closed, with pages acknowledged, notes, playbook steps
  checked off and, for the forced door, an after-action report;
- a tabletop-style evacuation drill run through, closed, with its AAR/IP;
- the drill's evacuation message with its roll call half answered, then the all clear.

Playbook steps that would lock the demo's doors or hold its mail are left unchecked on the real
incidents, with a note: the live demo's doors and items stay as the other apps seeded them. The
drill is not armed, so its door and item steps only simulate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User

from mailwarden.contracts.events import DoorForced
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.plugins import DemoOptions
from mailwarden.core.roles import Role
from mailwarden.directory.models import Recipient, Site
from mailwarden.incidents.models import (
    AlarmRule,
    AlarmSource,
    Channel,
    CorrectiveActionStatus,
    ExerciseType,
    Incident,
    IncidentStep,
    ObjectiveRating,
    Severity,
    StepAction,
)
from mailwarden.incidents.services import alarms, broadcasts, escalation, exercises, incidents
from mailwarden.incidents.services import playbooks as playbook_services

JOB = Actor.job("demo")
# Steps whose action would change the live demo's doors or items.
LIVE_ACTIONS = {StepAction.LOCKDOWN_SITE, StepAction.HOLD_SITE_MAIL}
STAFF = {
    Role.SECURITY_MANAGER: "manager",
    Role.SECURITY_OPERATOR: "operator",
    Role.SCREENER: "screener",
    Role.CLERK: "clerk",
}


@dataclass
class _Cast:
    site: Site
    actors: dict[str, Actor]
    users: dict[str, User]
    clock: FrozenClock
    rng: random.Random

    @property
    def manager(self) -> Actor:
        return self.actors[Role.SECURITY_MANAGER]

    @property
    def operator(self) -> Actor:
        return self.actors[Role.SECURITY_OPERATOR]

    def at(self, day: int, hour: int, minute: int, start: datetime) -> None:
        when = datetime.combine(start.date() + timedelta(days=day), time(hour, minute))
        self.clock.current = when.replace(tzinfo=start.tzinfo)

    def later(self, minutes: float) -> None:
        self.clock.advance(minutes=minutes)


def seed_history(options: DemoOptions, notify_rule: AlarmRule) -> str:
    """Seed the past; "" when the demo has no site or staff to seed it with."""
    site = Site.objects.filter(people__isnull=False).order_by("id").first()
    users = {role: User.objects.filter(username=name).first() for role, name in STAFF.items()}
    if site is None or any(u is None for u in users.values()):
        return ""
    clock = FrozenClock(options.history_from)
    cast = _Cast(
        site=site,
        actors={role: Actor.for_user(u) for role, u in users.items() if u is not None},
        users={role: u for role, u in users.items() if u is not None},
        clock=clock,
        rng=random.Random(f"incidents:{options.seed}"),
    )
    start = options.history_from
    with use_clock(clock):
        cast.at(0, 8, 0, start)
        _on_call(cast, notify_rule)
        cast.at(3, 10, 12, start)
        _unattended_trolley(cast)
        cast.at(8, 2, 41, start)
        forced = _forced_dock_door(cast)
        cast.at(12, 14, 5, start)
        _torn_parcel(cast)
        cast.at(15, 10, 0, start)
        answered = _evacuation_drill(cast)
    closed = Incident.objects.filter(state="closed", exercise=False).count()
    return (
        f"Seeded {closed} closed incidents (the forced door {forced} with its after-action "
        f"report), an evacuation drill with its report, and its roll call ({answered} answers)."
    )


# ----------------------------------------------------------------------------- on call


def _on_call(cast: _Cast, notify_rule: AlarmRule) -> None:
    operator, manager = cast.users[Role.SECURITY_OPERATOR], cast.users[Role.SECURITY_MANAGER]
    escalation.create_schedule(
        cast.manager,
        escalation.ScheduleRequest(
            name="Mailroom security on call",
            timezone=cast.site.timezone,
            description="The operator and the manager take a week each, handing over on Monday.",
            layers=[
                escalation.LayerRequest(
                    name="Weekly",
                    kind="weekly",
                    starts_at=cast.clock.current,
                    members=[operator.pk, manager.pk],
                )
            ],
        ),
    )
    escalation.create_policy(
        cast.manager,
        escalation.PolicyRequest(
            name=f"Incidents at {cast.site.name}",
            description="The operator first; the manager and the site's pager topic if nobody "
            "acknowledges within 10 minutes.",
            levels=[
                escalation.LevelRequest(
                    targets=[escalation.TargetRequest(kind="user", user_id=operator.pk)],
                    delay_minutes=10,
                ),
                escalation.LevelRequest(
                    targets=[
                        escalation.TargetRequest(kind="user", user_id=manager.pk),
                        escalation.TargetRequest(
                            kind="mqtt", address=f"mailwarden/pages/{cast.site.code}"
                        ),
                    ],
                    delay_minutes=15,
                ),
            ],
            matches=[escalation.MatchRequest(site=cast.site.code)],
            alarm_rules=[notify_rule.pk],
        ),
    )


# ----------------------------------------------------------------------------- incidents


def _page_and_acknowledge(cast: _Cast, incident: Incident, by: Actor, after: float) -> None:
    """The page the opening starts (its event's handler would start the same one, once)."""
    started = escalation.start_for_incident(escalation.JOB, incident.pk)
    if started is None:
        return
    cast.later(after)
    escalation.advance_due(escalation.JOB, cast.clock.current)
    escalation.acknowledge(by, started.pk)


def _run_steps(cast: _Cast, incident: Incident, skip_note: str, pace: tuple[int, int]) -> None:
    """Check off the playbook's steps in order, each by someone holding its role."""
    skipped = []
    for step in IncidentStep.objects.filter(incident=incident).order_by("position"):
        cast.later(cast.rng.randint(*pace))
        if not incident.exercise and step.action in LIVE_ACTIONS:
            skipped.append(f"{step.position} ({step.title})")
            continue
        actor = cast.actors.get(step.role, cast.manager)
        playbook_services.complete_step(actor, incident.pk, step.position)
    if skipped:
        incidents.add_note(cast.manager, incident.pk, f"Step {', '.join(skipped)}: {skip_note}")


def _close(cast: _Cast, incident: Incident, notes: tuple[str, str, str], gaps: int) -> None:
    for state, note in zip(("contained", "resolved", "closed"), notes, strict=True):
        cast.later(gaps)
        incidents.move(cast.manager, incident.pk, state, note)


def _unattended_trolley(cast: _Cast) -> None:
    incident = incidents.open_incident(
        cast.operator,
        incidents.OpenIncidentRequest(
            type="unattended_item",
            severity=3,
            site=cast.site.code,
            title="Unattended trolley by the parcel lockers",
            summary="A delivery trolley with three unlabelled boxes left by the lockers at "
            "opening time; nobody at the counter knew whose it was.",
        ),
    )
    _page_and_acknowledge(cast, incident, cast.operator, 3)
    incidents.assign(cast.operator, incident.pk, cast.users[Role.SECURITY_OPERATOR].username)
    _run_steps(cast, incident, "not needed for an unattended trolley.", (1, 4))
    incidents.add_note(
        cast.operator,
        incident.pk,
        "The courier came back for it: left behind while fetching a signature. Boxes checked "
        "against the manifest, nothing missing.",
    )
    _close(
        cast,
        incident,
        (
            "Courier identified and on site.",
            "Trolley and boxes returned to the courier.",
            "Closed: no threat. Reminder sent to couriers about leaving trolleys.",
        ),
        12,
    )


def _forced_dock_door(cast: _Cast) -> str:
    """A forced door at night: the alarm's rule opens the incident, nobody answers level 1 in
    time, the manager acknowledges at level 2."""
    alarm = alarms.raise_alarm(
        JOB,
        alarms.AlarmSignal(
            key="demo.history:dock-forced",
            type=DoorForced.TOPIC,
            severity=Severity.CRITICAL,
            source=AlarmSource.ACCESS,
            source_key="demo.history:door:dock",
            title="Door forced open: Loading dock",
            occurred_at=cast.clock.current,
            site=cast.site.code,
        ),
    )
    incident = incidents.open_from_alarm(alarms.JOB, alarm.pk) if alarm is not None else None
    if alarm is None or incident is None:
        return ""
    # Night: the operator's page goes unanswered, the level-2 page reaches the manager.
    _page_and_acknowledge(cast, incident, cast.manager, 11)
    alarms.acknowledge_alarm(
        cast.manager, alarm.pk, note="Taken over as incident " + incident.reference
    )
    incidents.assign(cast.manager, incident.pk, cast.users[Role.SECURITY_MANAGER].username)
    incidents.add_note(
        cast.manager,
        incident.pk,
        "Camera 3 shows the dock door pushed open from outside at 02:40; nobody entered. "
        "The door's latch was bent.",
    )
    _run_steps(
        cast,
        incident,
        "not run in the demo: the dock door was guarded until the repair instead.",
        (2, 6),
    )
    _close(
        cast,
        incident,
        (
            "Door guarded by the night porter.",
            "Latch repaired and tested by facilities at 07:30.",
            "Closed: attempted entry, nothing taken. Reported to the police.",
        ),
        60,
    )
    cast.later(24 * 60)
    exercises.save_report(
        cast.manager,
        incident.pk,
        exercises.ReportRequest(
            overview="An attempted entry through the loading dock at night. The alarm opened "
            "this incident and paged the on-call operator; nobody answered for ten minutes, "
            "so the manager was paged and took it over.",
            participants="Security manager, night porter, facilities",
            strengths=[
                "The door alarm opened the incident and paged within seconds.",
                "The level-2 page reached the manager when the first went unanswered.",
            ],
            improvements=[
                "The operator's phone was on silent overnight: the first page was missed.",
                "The dock door's latch had been reported loose a week earlier.",
            ],
        ),
    )
    _corrective_action(
        cast,
        incident,
        "Give the on-call operator a pager that cannot be silenced",
        "The first page was missed",
        14,
        CorrectiveActionStatus.IN_PROGRESS,
    )
    _corrective_action(
        cast,
        incident,
        "Replace the dock door's latch with a reinforced one",
        "The latch had been reported loose",
        30,
        CorrectiveActionStatus.OPEN,
    )
    return incident.reference


def _torn_parcel(cast: _Cast) -> None:
    incident = incidents.open_incident(
        cast.actors[Role.SECURITY_OPERATOR],
        incidents.OpenIncidentRequest(
            type="tampering_theft",
            severity=2,
            site=cast.site.code,
            title="Parcel for Legal arrived resealed with different tape",
            summary="The clerk noticed a second layer of tape over a cut in the outer box.",
        ),
    )
    _page_and_acknowledge(cast, incident, cast.operator, 2)
    _run_steps(cast, incident, "not needed: only the one parcel was affected.", (2, 8))
    incidents.add_note(
        cast.operator,
        incident.pk,
        "The sender confirmed they had reopened it to add a document. Photos kept.",
    )
    _close(
        cast,
        incident,
        (
            "Parcel set aside in the quarantine room.",
            "Sender confirmed the reopening in writing.",
            "Closed: no tampering in our custody.",
        ),
        30,
    )


# ----------------------------------------------------------------------------- the drill


def _evacuation_drill(cast: _Cast) -> int:
    """A drill on a bomb threat, with its evacuation message and roll call; returns how many
    answered."""
    planned = exercises.plan_exercise(
        cast.manager,
        exercises.ExerciseRequest(
            name="Spring evacuation drill",
            type=ExerciseType.DRILL,
            scenario="A caller says a device has been left in the mailroom. The team runs the "
            "bomb threat playbook and evacuates the building; the roll call shows who is out.",
            site=cast.site.code,
            incident_type="bomb_threat",
            planned_start=cast.clock.current + timedelta(days=1),
            objectives=[
                "Start the playbook within 2 minutes of the call",
                "Everyone answers the roll call within 15 minutes",
                "Hand over to the police with the threat checklist filled in",
            ],
            participants="Security manager, operator, screener, clerk, all staff at the site",
        ),
    )
    cast.later(24 * 60)
    incident = exercises.start_exercise(cast.manager, planned.pk, confirm=True)
    _page_and_acknowledge(cast, incident, cast.operator, 1)
    cast.later(3)
    message = broadcasts.send_broadcast(
        cast.operator,
        broadcasts.BroadcastRequest(
            site=cast.site.code,
            kind="evacuate",
            headline="Leave the building now",
            text="Use the nearest exit and go to assembly point B in the car park. Do not use "
            "the lifts.",
            incident=incident.pk,
            resend_minutes=0,
        ),
        confirm=True,
    )
    answered = _roll_call(cast, message.pk)
    _run_steps(cast, incident, "", (1, 3))
    cast.later(10)
    broadcasts.send_broadcast(
        cast.operator,
        broadcasts.BroadcastRequest(
            site=cast.site.code,
            kind="all_clear",
            headline="All clear: back to work",
            text="The drill is over. Thank you for taking part.",
            incident=incident.pk,
        ),
        confirm=True,
    )
    _close(
        cast,
        incident,
        (
            "Building evacuated, search simulated.",
            "Police hand-over simulated; all clear sent.",
            "Drill closed; debrief held.",
        ),
        5,
    )
    cast.later(2 * 24 * 60)
    exercises.save_report(
        cast.manager,
        incident.pk,
        exercises.ReportRequest(
            overview="An announced drill of the bomb threat playbook and an evacuation of the "
            "head office with a roll call.",
            participants="Security manager, operator, screener, clerk, all staff at the site",
            objectives=[
                exercises.ObjectiveResult(
                    "Start the playbook within 2 minutes of the call", ObjectiveRating.MET
                ),
                exercises.ObjectiveResult(
                    "Everyone answers the roll call within 15 minutes",
                    ObjectiveRating.PARTIALLY_MET,
                    "Most answered; those without a phone on them did not.",
                ),
                exercises.ObjectiveResult(
                    "Hand over to the police with the threat checklist filled in",
                    ObjectiveRating.MET,
                ),
            ],
            strengths=[
                "The evacuation message reached everyone at the site within a minute.",
                "Those who needed help were seen on the board at once and met at the exit.",
            ],
            improvements=[
                "Several people did not answer the roll call: their phones were at their desks.",
                "The threat checklist was not at the mailroom phone.",
            ],
        ),
    )
    _corrective_action(
        cast,
        incident,
        "Assembly point marshals take a paper list of who has not answered",
        "Several people did not answer the roll call",
        21,
        CorrectiveActionStatus.OPEN,
    )
    _corrective_action(
        cast,
        incident,
        "Put a bomb threat checklist at every mailroom phone",
        "The threat checklist was not at the mailroom phone",
        7,
        CorrectiveActionStatus.DONE,
    )
    return answered


def _roll_call(cast: _Cast, broadcast_id: int) -> int:
    """Most people answer safe from their email within a quarter of an hour, two need help,
    a few never answer."""
    people = list(
        Recipient.objects.filter(roll_call_answers__broadcast_id=broadcast_id).order_by("id")
    )
    expires = cast.clock.current + broadcasts.LINK_LIFETIME
    answered = 0
    start = cast.clock.current
    # Answers come in over a quarter of an hour, in order.
    offsets = sorted(cast.rng.randint(40, 900) for _ in people)
    for n, (person, offset) in enumerate(zip(people, offsets, strict=True)):
        if cast.rng.random() < 0.15:
            continue
        cast.clock.current = start + timedelta(seconds=offset)
        channel = Channel.SMS if person.phone and n % 3 == 0 else Channel.EMAIL
        token = broadcasts.make_token(broadcast_id, person.pk, channel, expires)
        if n in (4, 17):
            broadcasts.answer_roll_call(
                token, "need_help", note="Sprained ankle on the stairs", location="East stairs"
            )
        else:
            broadcasts.answer_roll_call(token, "safe", location="Assembly point B")
        answered += 1
    cast.clock.current = start + timedelta(minutes=16)
    return answered


def _corrective_action(
    cast: _Cast, incident: Incident, what: str, improvement: str, due_days: int, status: str
) -> None:
    added = exercises.add_corrective_action(
        cast.manager,
        incident.pk,
        exercises.ActionRequest(
            action=what,
            owner="Morgan Reyes",
            due_on=_due(cast, due_days),
            improvement=improvement,
        ),
    )
    if status != CorrectiveActionStatus.OPEN:
        exercises.update_corrective_action(
            cast.manager,
            incident.pk,
            added.pk,
            exercises.ActionRequest(
                action=what,
                owner="Morgan Reyes",
                due_on=_due(cast, due_days),
                improvement=improvement,
                status=status,
            ),
        )


def _due(cast: _Cast, days: int) -> date:
    return cast.clock.current.date() + timedelta(days=days)
