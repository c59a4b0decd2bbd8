"""Property-based fuzzing of the whole REST API from its own OpenAPI schema.

Every operation gets valid and invalid requests, sent with an administrator's token to the Django
application in-process (WSGI). No answer may be a server error, and every answer must be one the
schema declares, in the shape it declares.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailwarden.access import services as access
from mailwarden.contracts.events import ItemReceived
from mailwarden.core import clock, media, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user, issue_token
from mailwarden.custody import services as custody
from mailwarden.custody.holds import place_site_hold
from mailwarden.directory.models import Site
from mailwarden.incidents import cap, delivery
from mailwarden.incidents.models import (
    AlarmSource,
    Channel,
    Delivery,
    DeliveryStatus,
    Playbook,
    Severity,
)
from mailwarden.incidents.services import alarms as incidents
from mailwarden.incidents.services import broadcasts, escalation, exercises
from mailwarden.incidents.services import cap as cap_inbox
from mailwarden.incidents.services import incidents as cases
from mailwarden.risk.services import assessments as risk_assessments
from mailwarden.risk.services import controls as risk_controls
from mailwarden.risk.services import findings as risk_findings
from mailwarden.risk.services import treatments as risk_treatments
from mailwarden.screening import services as screening
from mailwarden.screening.decode import tiff16
from mailwarden.server.api import api
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.services import cameras
from mailwarden.surveillance.services import events as video_events
from mailwarden.training.models import Module
from mailwarden.training.services import assignments, courses, parcels, tip
from tests.factories import ADMIN, VALID_UPS, make_recipient, make_site
from tests.factories import intake as intake_item

# Loading from the API object needs no database, so collection works before any test runs.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_params={}))
schema.app = WSGIHandler()
# A vision worker's clip uploads are raw bytes, like its JPEG snapshots.
schemathesis.serializer.alias(["video/mp4", "video/webm"], "application/octet-stream")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 25

# Per-operation tallies of what was sent and how it was answered, printed at the end.
examples: Counter[str] = Counter()
statuses: Counter[int] = Counter()


@dataclass(frozen=True)
class Mailroom:
    secret: str
    # Stand-ins for valid path parameters, so valid requests reach real records.
    real: dict[str, str]


@pytest.fixture(autouse=True)
def mailroom(db, request) -> Iterator[Mailroom]:
    """A small mailroom, made through the services, and an admin token for the fuzzer."""
    # Django closes the database connection at the start and end of every WSGI request; inside
    # a test's transaction that would throw the transaction away. Its test client does the same.
    # A quiz and a TIP image cost most of a second: only the training operations get them.
    training_operation = "/api/training/" in request.node.name
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    site = make_site()
    people = [make_recipient() for _ in range(3)]
    item = intake_item(site, people[0], tracking_number=VALID_UPS)
    intake_item(site, people[1])
    secret = issue_token(ADMIN, name="fuzzer", role="admin").secret
    other = issue_token(ADMIN, name="spare", role="clerk").token.prefix
    # Screening records to aim at: a scan (of an empty belt), a pending decision and a pending
    # quarantine request (two-person rules need a person, so a screener with a user id).
    empty = tiff16(np.full((64, 64), 60_000, np.uint16))
    scan = screening.import_scan(ADMIN, item.uid, screening.ScanUpload(high=empty, low=empty))
    screener = Actor("user", "fuzz-screener", frozenset({Role.SCREENER}), user_id=1)
    decision = screening.screen_item(
        screener, item.uid, screening.Checklist(indicators=["excessive-postage"])
    )
    held = intake_item(site, people[2])
    custody.transition(ADMIN, held.uid, "quarantined", reason="fuzzing")
    request = screening.propose_quarantine_outcome(screener, held.uid, "released", "fuzzing")
    holder = access.credentials.create_cardholder(ADMIN, name="Fuzz Holder")
    hours = access.levels.create_schedule(
        ADMIN,
        site=site.code,
        name="hours",
        windows=[{"days": ["mon"], "start": "08:00", "end": "18:00"}],
    )
    level = access.levels.create_level(ADMIN, site=site.code, name="fuzz", schedule_id=hours.pk)
    card = access.credentials.issue_credential(
        ADMIN,
        access.credentials.CredentialData(
            holder_id=holder.pk, format="H10301", facility=1, card=7, level_ids=[level.pk]
        ),
    )
    access.levels.add_holiday(ADMIN, site=site.code, day=date(2026, 12, 25))
    rule = incidents.create_rule(ADMIN, incidents.RuleRequest(name="fuzz", action="log"))
    alarm = incidents.raise_alarm(
        incidents.JOB,
        incidents.AlarmSignal(
            key="fuzz",
            type="access.door.forced",
            severity=Severity.CRITICAL,
            source=AlarmSource.ACCESS,
            source_key="fuzz",
            title="Door forced open: fuzz",
            occurred_at=item.received_at,
            site=site.code,
        ),
    )
    assert alarm is not None
    # The exercise's incident runs its type's playbook: one to run, if none is shipped.
    Playbook.objects.get_or_create(
        incident_type="suspicious_package",
        defaults={"name": "fuzz", "updated_at": item.received_at, "updated_by": "fuzzer"},
    )
    planned = exercises.plan_exercise(
        ADMIN,
        exercises.ExerciseRequest(
            name="fuzz drill",
            type="drill",
            scenario="fuzzing",
            site=site.code,
            incident_type="suspicious_package",
            planned_start=item.received_at,
            objectives=["survive the fuzzer"],
        ),
    )
    drill = exercises.start_exercise(ADMIN, planned.pk, confirm=True)
    fix = exercises.add_corrective_action(
        ADMIN,
        drill.pk,
        exercises.ActionRequest(action="fuzz", owner="fuzzer", due_on=date(2099, 1, 1)),
    )
    received = cap_inbox.receive_alert(
        ADMIN,
        cap.cap_for_site_message(
            site.name, "evacuate", "fuzz", "fuzz", "fuzz-1", item.received_at, True
        ),
    ).alert
    # A mail hold at a site of its own, so the fuzzed pickups at the main site are not held.
    hold = place_site_hold(ADMIN, make_site("annex").code, reason="fuzzing")
    person = create_user(ADMIN, "fuzz-person", password="x", roles=["clerk"], check_password=False)
    dead, dead_event = _dead_letters(site.code)
    evidence = cases.add_evidence(ADMIN, drill.pk, name="fuzz.txt", data=b"fuzz")
    task = cases.add_task(ADMIN, drill.pk, title="fuzz")
    link = cases.add_link(ADMIN, drill.pk, "camera", "cam-fuzz")
    broadcast = broadcasts.send_broadcast(
        ADMIN,
        broadcasts.BroadcastRequest(site=site.code, kind="evacuate", headline="Fuzz", text="Fuzz"),
        confirm=True,
    )
    desk = escalation.create_schedule(
        ADMIN,
        escalation.ScheduleRequest(
            name="fuzz desk",
            layers=[escalation.LayerRequest("week", "weekly", item.received_at, [person.pk])],
        ),
    )
    cover = escalation.add_override(
        ADMIN,
        desk.pk,
        escalation.OverrideRequest(
            person.pk, item.received_at, item.received_at + timedelta(hours=1)
        ),
    )
    pager = escalation.create_policy(
        ADMIN,
        escalation.PolicyRequest(
            name="fuzz pager",
            levels=[escalation.LevelRequest([escalation.TargetRequest("user", user_id=person.pk)])],
            alarm_rules=[rule.pk],
        ),
    )
    paging = escalation.start_for_alarm(escalation.JOB, alarm.pk)
    assert paging is not None
    camera = cameras.create_camera(
        ADMIN, cameras.CameraSpec(site=site.code, name="fuzz-view", url="rtsp://192.0.2.1/s")
    )
    video = _video_event(site)
    test_parcel = parcels.register(
        ADMIN, barcode=VALID_UPS, site=site.code, indicators=["excessive-tape"]
    )
    learning = _training(site, started=training_operation)
    real = {
        **learning,
        **_risk(site),
        "uid": item.uid,
        "code": site.code,
        "chart": "door-alarms",
        "prefix": other,
        "scan_id": str(scan.pk),
        "decision_id": str(decision.pk),
        "parcel_id": str(test_parcel.pk),
        "request_id": str(request.pk),
        "holder_id": str(holder.pk),
        "schedule_id": str(hours.pk),
        "level_id": str(level.pk),
        "credential_id": str(card.pk),
        "day": "2026-12-25",
        "name": "organic",
        "part": "high",
        "username": person.get_username(),
        "rule_id": str(rule.pk),
        "alarm_id": str(alarm.pk),
        "exercise_id": str(planned.pk),
        "incident_id": str(drill.pk),
        "action_id": str(fix.pk),
        "alert_id": str(received.pk),
        "delivery_id": str(dead.pk),
        "event_id": str(dead_event.pk),
        "evidence_id": str(evidence.pk),
        "task_id": str(task.pk),
        "link_id": str(link.pk),
        "playbook_id": str(Playbook.objects.get(incident_type="forced_entry").pk),
        "position": "1",
        "hold_id": str(hold.pk),
        "recipient_id": str(people[0].pk),
        "broadcast_id": str(broadcast.pk),
        "override_id": str(cover.pk),
        "policy_id": str(pager.pk),
        "escalation_id": str(paging.pk),
        "camera": camera.name,
        "video_event_id": str(video.pk),
        # A worker's evidence upload: only a vision worker's token gets past its gate.
        "sha256": "0" * 64,
    }
    try:
        yield Mailroom(secret, real)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _training(site: Site, *, started: bool) -> dict[str, str]:
    """An assignment rule and a screener; when ``started``, part-way through a quiz and a TIP
    session, for the training operations to aim at."""
    learner = create_user(
        ADMIN, "fuzz-learner", password="x", roles=["screener"], check_password=False
    )
    course = "suspicious-mail"
    rule = assignments.create_assignment(
        ADMIN, assignments.AssignmentSpec(course=course, role="clerk", site=site.code)
    )
    real = {
        "slug": course,
        "assignment": str(rule.pk),
        "site": site.code,
        "user_id": str(learner.pk),
        "attempt": "1",
        "session_id": "1",
        "trial_id": "1",
    }
    if started:
        me = Actor.for_user(learner)
        module = Module.objects.get(course__slug=course, position=1)
        session = tip.start_session(me, size=2, seed=1)
        trial = tip.current_trial(me, session.pk)
        assert trial is not None
        real["attempt"] = str(courses.start_quiz(me, module.pk).pk)
        real["session_id"] = str(session.pk)
        real["trial_id"] = str(trial.pk)
    return real


def _risk(site: Site) -> dict[str, str]:
    """An assessment with a risk, a finding with a photo, a control and a treatment, for the
    risk operations to aim at."""
    manager = create_user(
        ADMIN, "fuzz-manager", password="x", roles=["security_manager"], check_password=False
    )
    me = Actor.for_user(manager)
    assessment = risk_assessments.create_assessment(me, site=site.code, title="Fuzzed")
    risk = assessment.risks.order_by("pk").first()
    assert risk is not None
    finding = risk_findings.record_finding(me, assessment.pk, title="Side door propped open")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "grey").save(buffer, format="PNG")
    photo = risk_findings.add_photo(me, finding.pk, buffer.getvalue())
    control = risk_controls.record_control(
        me, site=site.code, title="Screened first", measure="screened_before_delivery"
    )
    treatment = risk_treatments.plan_treatment(
        me,
        risk.pk,
        kind="mitigate",
        description="Screen everything",
        owner=manager.get_username(),
        due=date(2027, 1, 31),
        control_id=control.pk,
    )
    return {
        "assessment_id": str(assessment.pk),
        "risk_id": str(risk.pk),
        "template": assessment.template,
        "finding_id": str(finding.pk),
        "photo_id": str(photo.pk),
        "control_id": str(control.pk),
        "treatment_id": str(treatment.pk),
    }


def _video_event(site: Site) -> VideoEvent:
    """A raised video event with a snapshot and a clip, for the event operations to aim at."""
    camera = cameras.create_camera(
        ADMIN, cameras.CameraSpec(site=site.code, name="fuzz-cam", url="rtsp://cam.local/fuzz")
    )
    with transaction.atomic():
        event = VideoEvent.objects.create(
            key=uuid.uuid4(),
            camera=camera,
            site=site,
            worker="fuzz-worker",
            type="loitering",
            zone="floor",
            occurred_at=clock.now(),
            received_at=clock.now(),
            bbox=[1, 2, 3, 4],
            frame_size=[640, 360],
            snapshot=media.put(b"\xff\xd8fuzz snapshot"),
            clip=media.put(b"fuzz clip"),
            clip_type="video/mp4",
        )
        video_events.after_recorded(ADMIN, event)
    return event


def _dead_letters(site: str) -> tuple[Delivery, OutboxEvent]:
    """A dead message and a dead outbox event, for the replay operations to aim at."""
    with transaction.atomic():
        delivery.queue(
            [
                delivery.Outgoing(
                    to=delivery.Address(Channel.WEBHOOK, "fuzz"),
                    subject="fuzz",
                    text="fuzz",
                    key="fuzz",
                )
            ]
        )
        outbox.emit(ItemReceived(uid="MW-FUZZ0000", site=site, kind="parcel"))
    Delivery.objects.update(status=DeliveryStatus.DEAD)
    event = OutboxEvent.objects.filter(topic=ItemReceived.TOPIC, payload__uid="MW-FUZZ0000")
    event.update(status=OutboxStatus.DEAD)
    return Delivery.objects.get(), event.get()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    total = sum(examples.values())
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    print(
        f"\nschemathesis: {len(examples)} operations, {total} requests, "
        f"{server_errors} server errors; statuses {dict(sorted(statuses.items()))}"
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_never_fails_and_keeps_its_schema(case, mailroom):
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        for name in case.path_parameters or {}:
            case.path_parameters[name] = mailroom.real[name]
    response = case.call(headers={"Authorization": f"Bearer {mailroom.secret}"})
    examples[case.operation.label] += 1
    statuses[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
