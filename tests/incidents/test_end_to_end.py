"""Point 8 of the incidents issue, end to end: an X-ray threat found by a screener becomes a
do-not-open alarm, an incident run by its playbook (whose lockdown step locks the site's doors),
a page by email that nobody acknowledges, a level 2 that fires after the delay on a signed
webhook and on MQTT, an evacuation message with a roll call that people answer from their
email, its CAP 1.2 alert, and finally the incident closed with its after-action report.

Everything real runs for real: aiosmtpd takes the email, Mosquitto carries the MQTT message to
a paho subscriber, a loopback HTTP server checks the webhook's signature with its own code
(written from docs/webhooks.md). Everything moves through the background tick and the outbox,
as in production; time passes only by moving the injected clock.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import cast
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from mailwarden.access.models import AccessController, Door
from mailwarden.access.queries import site_rules
from mailwarden.access.services import sync
from mailwarden.config import DeliveryConfig
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock
from mailwarden.core.roles import Role
from mailwarden.core.tasks import tick
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from mailwarden.edge.decisions import DecisionEngine, Reason
from mailwarden.edge.rules import DoorMode
from mailwarden.incidents import cap
from mailwarden.incidents.models import (
    Alarm,
    AlarmRule,
    AlarmSource,
    Broadcast,
    Channel,
    Delivery,
    DeliveryStatus,
    Escalation,
    EscalationPolicy,
    EscalationState,
    Incident,
    IncidentState,
    Playbook,
    TimelineEntry,
)
from mailwarden.incidents.queries import broadcasts as board
from mailwarden.incidents.report import report_pdf
from mailwarden.incidents.services import alarms, escalation, exercises, incidents, playbooks
from mailwarden.incidents.services import broadcasts as site_messages
from mailwarden.incidents.services import delivery as endpoints
from mailwarden.screening import services as screening
from mailwarden.screening.models import Indicator
from mailwarden.screening.services import Checklist
from tests.access.conftest import Mailroom, device, mailroom  # noqa: F401
from tests.access.test_sync import swipe
from tests.factories import intake, make_recipient
from tests.incidents.delivery_helpers import HttpReceiver, Request, Subscriber
from tests.incidents.escalation_helpers import as_actor, person
from tests.notify.conftest import SmtpServer
from tests.screening.conftest import SCREENER_A

# Real threads (the SMTP server, the HTTP receiver, the MQTT client) and the commit hooks that
# production relies on: the test runs outside a wrapping transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _migrations_data() -> None:
    """The migrations fill the indicator catalogue and the shipped playbooks, and a
    transactional test run before this one empties every table: put them back."""
    catalogue = importlib.import_module("mailwarden.screening.migrations.0002_indicator_catalogue")
    for position, (code, label, description, weight) in enumerate(catalogue.CATALOGUE, start=1):
        Indicator.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "description": description,
                "default_weight": weight,
                "position": position,
            },
        )
    playbooks.install_default_playbooks(Actor.job("tests"))


SECRET = "whsec-e2e-0123456789abcdef"
LEVEL_1_DELAY = 5  # minutes
LEVEL_2_DELAY = 10
TOLERANCE_S = 300


def signed_by_us(request: Request) -> bool:
    """The receiver's own check, from docs/webhooks.md: ``v1=`` and the hex HMAC-SHA256 of the
    timestamp, a full stop and the body, under the shared secret; and a timestamp close to the
    receiver's clock (the injected one: the sender's and the receiver's time are the same)."""
    timestamp = request.headers.get("Mailwarden-Timestamp", "")
    if not timestamp.isdigit():
        return False
    if abs(clock.now().timestamp() - int(timestamp)) > TOLERANCE_S:
        return False
    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(
        request.headers.get("Mailwarden-Signature", ""), f"v1={mac.hexdigest()}"
    )


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    server = HttpReceiver(accepts=signed_by_us)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_tick() -> None:
    """One background tick at the clock's time, as the runner does every few seconds."""
    tick(clock.now())


def settle(limit: int = 10) -> None:
    """Tick until nothing is left to do now (the events each tick's handlers emit are handled
    on the next one, as in production)."""
    for _ in range(limit):
        if tick(clock.now()).idle:
            return
    raise AssertionError(f"still busy after {limit} ticks")


def rules_for(controller: AccessController, since: int | None) -> bytes:
    """What the controller's poll for new rules is answered (as the edge API answers it)."""
    document = sync.sync_rules(device(controller), controller.name, since).document
    assert document is not None, f"no new rules for {controller.name}"
    return document


def link_in(text: str, label: str) -> str:
    url = text.split(label, 1)[1].split()[0]
    return urlsplit(url).path


@dataclass
class Scene:
    site: Site
    mailroom: Mailroom
    boss_user: User
    oncall: User
    rule: AlarmRule
    policy: EscalationPolicy
    topic: str
    people: tuple[Recipient, Recipient, Recipient, Recipient]
    subscriber: Subscriber


@pytest.fixture
def scene(
    frozen_clock: FrozenClock,
    mailroom: Mailroom,  # noqa: F811 (the access tests' fixture, imported above)
    channels: DeliveryConfig,
    mqtt_topic_root: str,
    hook: HttpReceiver,
) -> Iterator[Scene]:
    """What people set up beforehand, through the services: the site's people, an
    alarm rule, the playbook with a lockdown step, a webhook endpoint and an escalation policy;
    and a subscriber on the broker. The site is the access tests' mailroom: doors with readers
    on two edge controllers, and cards that open them."""
    site = mailroom.site
    boss_user = person("mona-e2e", Role.SECURITY_MANAGER)
    boss = as_actor(boss_user)
    oncall = person("otto-e2e", Role.SECURITY_OPERATOR)
    # The site's people, for the evacuation's roll call.
    alice = make_recipient(first_name="Alice", department="Finance", site=site.code)
    bob = make_recipient(first_name="Bob", department="Finance", site=site.code)
    carol = make_recipient(first_name="Carol", department="Mailroom", site=site.code)
    dan = make_recipient(first_name="Dan", site=site.code)

    rule = alarms.create_rule(
        boss,
        alarms.RuleRequest(
            name="X-ray threats open an incident",
            action="open_incident",
            alarm_type="screening.alarm.raised",
            site=site.code,
            min_severity=4,
        ),
    )
    # The shipped suspicious-package playbook has no lockdown step; this site adds one.
    playbooks.install_default_playbooks(boss)
    playbook = Playbook.objects.get(incident_type="suspicious_package")
    shipped = list(playbook.steps.order_by("position"))
    assert "lockdown_site" not in [s.action for s in shipped]
    steps = [
        playbooks.StepRequest(
            title=s.title,
            role=s.role,
            target_minutes=s.target_minutes,
            instructions=s.instructions,
            action=s.action,
            message=s.message,
        )
        for s in shipped
    ]
    steps.insert(
        2,
        playbooks.StepRequest(
            title="Lock the site's doors",
            role="security_operator",
            target_minutes=3,
            instructions="Lock every door of the site so nobody walks into the danger area.",
            action="lockdown_site",
        ),
    )
    playbooks.update_playbook(
        boss, playbook.pk, playbooks.PlaybookRequest(name=playbook.name, steps=steps)
    )

    endpoints.create_endpoint(
        boss, endpoints.EndpointRequest(name="soc", url=hook.url, secret=SECRET)
    )
    topic = f"{mqtt_topic_root}/{site.code}/pages"
    policy = escalation.create_policy(
        boss,
        escalation.PolicyRequest(
            name="Suspicious packages at HQ",
            levels=[
                escalation.LevelRequest(
                    targets=[escalation.TargetRequest(kind="user", user_id=oncall.pk)],
                    delay_minutes=LEVEL_1_DELAY,
                ),
                escalation.LevelRequest(
                    targets=[
                        escalation.TargetRequest(kind="webhook", address="soc"),
                        escalation.TargetRequest(kind="mqtt", address=topic),
                    ],
                    delay_minutes=LEVEL_2_DELAY,
                ),
            ],
            matches=[escalation.MatchRequest(incident_type="suspicious_package", site=site.code)],
        ),
    )
    subscriber = Subscriber(f"{mqtt_topic_root}/#")
    try:
        yield Scene(
            site,
            mailroom,
            boss_user,
            oncall,
            rule,
            policy,
            topic,
            (alice, bob, carol, dan),
            subscriber,
        )
    finally:
        subscriber.close()


def test_an_xray_threat_runs_the_whole_response(
    frozen_clock: FrozenClock, scene: Scene, smtp_server: SmtpServer, hook: HttpReceiver
) -> None:
    site, oncall, rule, policy, topic = (
        scene.site,
        scene.oncall,
        scene.rule,
        scene.policy,
        scene.topic,
    )
    subscriber, boss_user = scene.subscriber, scene.boss_user
    boss = as_actor(boss_user)
    people = scene.people
    alice, bob, carol, dan = people
    opened_at = clock.now()

    # 1. A screener hears a parcel ticking: a critical decision; after the tick, a
    #    do-not-open alarm on the alarm console.
    item = intake(site, make_recipient(first_name="Eve"))
    assert isinstance(item, MailItem)
    decision = screening.screen_item(SCREENER_A, item.uid, Checklist(["ticking-sloshing-buzzing"]))
    assert decision.tier == "critical"
    assert not Alarm.objects.exists()  # nothing happens until the outbox is dispatched
    run_tick()
    alarm = Alarm.objects.get()
    assert alarm.source == AlarmSource.SCREENING and alarm.severity == 4
    assert alarm.title.startswith(f"Do not open: {item.uid}")
    assert alarm.site == site and alarm.rule == rule and alarm.action == "open_incident"
    console = Client()
    console.force_login(boss_user)
    page = console.get(reverse("incidents:alarms"))
    assert page.status_code == 200 and f"Do not open: {item.uid}" in page.content.decode()

    # 2. The rule's open_incident: a suspicious-package incident with its playbook's steps.
    assert not Incident.objects.exists()
    run_tick()
    incident = Incident.objects.get()
    assert incident.type == "suspicious_package" and incident.severity == 1
    assert incident.state == IncidentState.OPEN and incident.site == site
    assert incident.links.filter(kind="alarm", target=str(alarm.pk)).exists()
    laid_out = list(incident.steps.order_by("position"))
    assert [s.title for s in laid_out][:4] == [
        "Do not open, shake or smell it",
        "Isolate it and leave the room",
        "Lock the site's doors",
        "Hold all mail at the site",
    ]
    assert len(laid_out) == 11
    assert laid_out[2].target_at == opened_at + timedelta(minutes=3)

    # 3. The lockdown step, checked off: the site's doors are locked in the access tables, and
    #    the edge controllers' next rules refuse a card that opened the dock a moment before.
    assert not site_rules(site).lockdown
    edges = {ctl.name: ctl for ctl in (scene.mailroom.edge1, scene.mailroom.edge2)}
    engines = {
        name: DecisionEngine({name: bytes.fromhex(ctl.sync_secret)}) for name, ctl in edges.items()
    }
    for name, engine in engines.items():
        engine.load_snapshot(rules_for(edges[name], None))
    bob_at_the_dock = engines["edge-1"].decide("dock-in", swipe(1002), clock.now())
    assert bob_at_the_dock.granted and bob_at_the_dock.reason is Reason.GRANTED
    done = playbooks.complete_step(boss, incident.pk, 3, note="all doors")
    assert done.action_status == "done"
    assert done.action_result == f"locked 3 doors at {site.name} (site lockdown)"
    rules = site_rules(site)
    assert rules.lockdown and rules.lockdown_by == "user:mona-e2e"
    assert rules.lockdown_reason.startswith(f"{incident.reference} step 3")
    assert Door.objects.filter(site=site).count() == 3
    for name, engine in engines.items():
        engine.apply_delta(rules_for(edges[name], engine.version))
        assert engine.rules is not None
        assert {d.mode for d in engine.rules.snapshot.doors} == {DoorMode.LOCKDOWN}
    refused = engines["edge-1"].decide("dock-in", swipe(1002), clock.now())
    assert not refused.granted and refused.reason is Reason.LOCKDOWN
    lobby = engines["edge-2"].decide("lobby-in", swipe(1002), clock.now())
    assert lobby.reason is Reason.LOCKDOWN

    # 4. The matching policy's level 1 pages the on-call operator: after the tick the email is
    #    at the SMTP server, with a signed link that would acknowledge the page.
    run_tick()
    page_1 = Escalation.objects.get(incident=incident)
    assert page_1.policy == policy and page_1.state == EscalationState.ACTIVE
    [mail] = smtp_server.to(oncall.email)
    assert mail["Subject"] == f"Page: {incident.reference} {incident.title}"
    body = mail.get_content()
    assert f"You are paged at {site.name}, level 1: {incident.reference}" in body
    ack_path = link_in(body, "Acknowledge: ")
    token = ack_path.rstrip("/").split("/")[-1]
    assert escalation.read_ack_token(token) == (page_1.pk, oncall.pk)
    assert hook.received == [] and subscriber.messages.empty()

    # 5. Nobody acknowledges. Just before the delay nothing moves; past it, level 2 fires: the
    #    webhook arrives signed, and the receiver's own check accepts it.
    frozen_clock.advance(minutes=LEVEL_1_DELAY, seconds=-1)
    settle()
    assert hook.received == [] and Escalation.objects.get(pk=page_1.pk).level == 0
    frozen_clock.advance(seconds=1)
    settle()
    page_1.refresh_from_db()
    assert (page_1.level, page_1.state) == (1, EscalationState.ACTIVE)
    assert not page_1.acks.exists()
    assert hook.refused == []
    [webhook] = hook.received
    assert signed_by_us(webhook)
    sent = json.loads(webhook.body)
    assert sent["ref"] == f"incident:{incident.pk}"
    assert sent["data"]["level"] == 2 and sent["data"]["incident"] == incident.reference
    assert Delivery.objects.get(channel=Channel.WEBHOOK).status == DeliveryStatus.SENT

    # 6. ... and the MQTT message, at QoS 1, JSON, on its topic under mailwarden/.
    message = subscriber.next()
    assert message.topic == topic and topic.startswith("mailwarden/") and message.qos == 1
    published = json.loads(message.payload)
    assert published["data"]["level"] == 2 and published["ref"] == f"incident:{incident.pk}"
    assert len(smtp_server.to(oncall.email)) == 1  # level 2 did not page the operator again

    # 7. The evacuation, with a roll call: everyone at the site gets the email on the tick;
    #    they answer by opening the links in it (no sign-in); the board counts them.
    evacuation = site_messages.send_broadcast(
        boss,
        site_messages.BroadcastRequest(
            site=site.code,
            kind="evacuate",
            headline="Leave the building now",
            text="A suspicious parcel is in the mailroom. Go to assembly point B.",
            incident=incident.pk,
        ),
        confirm=True,
    )
    assert evacuation.recipients == 4
    # aiosmtpd records a message before it answers 250, so each one is here once sent.
    settle()
    letters = {p.pk: smtp_server.to(p.email) for p in people}
    assert all(len(found) == 1 for found in letters.values())
    assert letters[alice.pk][0]["Subject"] == "EVACUATE: Leave the building now"
    anonymous = Client()
    answered = {
        alice: link_in(letters[alice.pk][0].get_content(), "I am safe: "),
        bob: link_in(letters[bob.pk][0].get_content(), "I need help: "),
        carol: link_in(letters[carol.pk][0].get_content(), "I am safe: "),
    }
    for path in answered.values():
        assert anonymous.get(path).status_code == 200
    tally = board.tally(evacuation)
    assert (tally.total, tally.safe, tally.need_help, tally.no_answer) == (4, 2, 1, 1)
    finance = next(d for d in board.by_department(evacuation) if d.department == "Finance")
    assert (finance.tally.safe, finance.tally.need_help) == (1, 1)
    shown = console.get(reverse("incidents:broadcast", args=[evacuation.pk])).content.decode()
    assert 'data-safe="2" data-need-help="1" data-no-answer="1"' in shown

    # 8. The site message's CAP 1.2 alert validates against the OASIS schema.
    alert = cap.cap_for_site_message(
        site.name,
        cast(cap.SiteMessageKind, evacuation.kind),
        evacuation.headline,
        evacuation.text,
        f"mailwarden-broadcast-{evacuation.pk}",
        evacuation.sent_at,
        evacuation.exercise,
        site_code=site.code,
    )
    assert cap.validate(alert) == []
    assert b"<status>Actual</status>" in alert and b"<responseType>Evacuate</responseType>" in alert

    # 9. Contained (which stops the paging), resolved, closed; then the after-action report.
    for state in ("contained", "resolved", "closed"):
        frozen_clock.advance(minutes=15)
        incidents.move(boss, incident.pk, state, note=f"{state} by the response lead")
        settle()
    # Dan never answered: the roll call reminded him on each re-send, and nobody else.
    reminders = [m["Subject"] for m in smtp_server.to(dan.email)]
    assert reminders[:2] == [
        "EVACUATE: Leave the building now",
        "EVACUATE (reminder 1): Leave the building now",
    ]
    assert all(len(smtp_server.to(p.email)) == 1 for p in (alice, bob, carol))
    incident.refresh_from_db()
    assert incident.state == IncidentState.CLOSED and incident.closed_at == clock.now()
    page_1.refresh_from_db()
    assert page_1.state == EscalationState.CANCELLED
    exercises.save_report(
        boss,
        incident.pk,
        exercises.ReportRequest(
            overview="A parcel with wires was found on the X-ray at the dock.",
            participants="Mailroom team; security desk; on-call operator",
            objectives=[
                exercises.ObjectiveResult("Lock the site within 3 minutes", "met", "At once.")
            ],
            strengths=["The doors were locked from the playbook"],
            improvements=["Nobody acknowledged the first page"],
        ),
    )
    exercises.add_corrective_action(
        boss,
        incident.pk,
        exercises.ActionRequest(
            action="Remind the on-call rota to acknowledge pages",
            owner="Security manager",
            due_on=clock.now().date() + timedelta(days=14),
            improvement="Nobody acknowledged the first page",
        ),
    )
    report_page = console.get(reverse("incidents:report", args=[incident.pk]))
    assert report_page.status_code == 200
    html = report_page.content.decode()
    headings = (
        "Overview",
        "Objectives",
        "Timeline and step timings",
        "Strengths",
        "Areas for improvement",
        "Improvement plan: corrective actions",
    )
    for heading in headings:
        assert f"<h2>{heading}</h2>" in html, heading
    pdf = report_pdf(incident)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Incident report and improvement plan" in text
    for heading in headings:
        assert heading in text, heading
    assert "Remind the on-call rota" in " ".join(text.split())

    # The timeline tells the story in order.
    kinds = list(
        TimelineEntry.objects.filter(incident=incident)
        .order_by("at", "id")
        .values_list("kind", "text")
    )
    story = [
        ("opened", "Opened: Suspicious package, SEV-1"),
        ("link", f"Linked Alarm {alarm.pk} (Do not open"),
        ("playbook", "Playbook “Suspicious package” started: 11 steps"),
        ("step", "Step 3 done: Lock the site's doors"),
        ("action", "Step 3 lock down the site's doors: done: locked 3 doors"),
        ("page", "Escalation started with the policy Suspicious packages at HQ"),
        ("page", "Level 1 paged: otto-e2e"),
        ("page", "Level 2 paged: webhook soc, MQTT mailwarden/"),
        ("message", "Evacuate message to 4 people at hq"),
        ("message", f"{bob.display_name} needs help"),
        ("state", "Open → Contained"),
        ("page", "Escalation stopped: the incident is contained"),
        ("message", "Site message re-sent (round 2) to 1 person who had not answered"),
        ("state", "Contained → Resolved"),
        ("state", "Resolved → Closed"),
        ("report", "After-action report written"),
    ]
    position = 0
    for kind, text_start in story:
        while position < len(kinds) and not (
            kinds[position][0] == kind and kinds[position][1].startswith(text_start)
        ):
            position += 1
        assert position < len(kinds), f"timeline lacks {kind} {text_start!r} in order: {kinds}"
        position += 1

    # And the ledger that recorded all of it holds.
    result = ledger.verify()
    assert result.ok, result.problem
    assert result.head_seq > 20
    assert Broadcast.objects.get().incident == incident
