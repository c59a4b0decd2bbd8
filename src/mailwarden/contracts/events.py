"""The catalogue of domain events: everything that can be reacted to, in one place.

A service writes one of these models to the transactional outbox in the transaction of the change
it describes (``mailwarden.core.outbox.emit``); the dispatcher hands the parsed model to every
handler registered for it (``mailwarden.core.outbox.handles``). Each model names its topic,
``<app>.<noun>.<verb>`` with the verb in the past tense, in ``TOPIC``; its docstring says when it
happens. Where the emitter gives the event an idempotency key, ``KEY`` is the rule (a format
string over ``topic`` and the fields), so the same fact emitted twice is stored once.

``docs/events.md`` is generated from this module: ``mailwarden events --markdown`` (or, without
the server's dependencies, ``python -m mailwarden.contracts.events``).

No Django here: the catalogue is shared with the edge and vision processes.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

_catalogue: dict[str, type[DomainEvent]] = {}

# ============================================================================= the naming scheme

# ``<app>.<noun>.<verb>``: lower case, words joined by underscores, the verb in the past tense.
# Ledger actions follow it too, so an event and the entry of the same change read alike.
_NAME = re.compile(r"[a-z]+\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
# Past tenses and participles that do not end in -ed.
_IRREGULAR_PAST = frozenset(
    {"done", "found", "given", "held", "lost", "made", "reset", "sent", "shown", "went", "written"}
)


def naming_problem(name: str) -> str | None:
    """What is wrong with a topic or ledger action name under the naming scheme, or None."""
    if not _NAME.fullmatch(name):
        return f"{name!r} is not <app>.<noun>.<verb> in lower case"
    words = name.rsplit(".", 1)[1].split("_")
    if not any(w.endswith("ed") or w in _IRREGULAR_PAST for w in words):
        return f"{name!r}: the verb ({name.rsplit('.', 1)[1]}) is not in the past tense"
    return None


class DomainEvent(BaseModel):
    """The base of every event in the catalogue. Abstract: only subclasses with a TOPIC are sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TOPIC: ClassVar[str] = ""
    # The idempotency key's rule, as a format string over ``topic`` and the fields; None when
    # every emission is a new event (the outbox then keys it ``<topic>:<random hex>``).
    KEY: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        topic = cls.__dict__.get("TOPIC")
        if not topic:
            return
        problem = naming_problem(topic)
        if problem:
            raise TypeError(f"{cls.__name__}: {problem}")
        if topic in _catalogue:
            raise TypeError(f"{cls.__name__} and {_catalogue[topic].__name__} share {topic!r}")
        _catalogue[topic] = cls

    def idempotency_key(self) -> str | None:
        """The outbox key for this event, by ``KEY``; None when it has no rule."""
        if self.KEY is None:
            return None
        return self.KEY.format(topic=self.TOPIC, **self.model_dump(mode="json"))


# ============================================================================= core


class LedgerVerifyFailed(DomainEvent):
    """A check of the whole ledger found a problem: an entry changed, deleted, inserted or
    reordered, or the recorded head no longer matching the chain. Sent by ``mailwarden ledger
    verify``, by ``GET /api/ledger/verify`` and by any scheduled check, in a transaction of its
    own (the check itself writes nothing), each time a check fails."""

    TOPIC: ClassVar[str] = "core.ledger.verification_failed"

    source: Literal["cli", "api", "schedule"] = Field(description="Where the check was run.")
    actor: str = Field(description="Who ran it (an actor label such as `user:olga`).")
    checked: int = Field(description="Entries proved intact before the problem.")
    head_seq: int = Field(description="The recorded head's sequence number.")
    head_hash: str = Field(description="The recorded head's hash.")
    problem_seq: int = Field(description="The first entry where the problem shows.")
    problem_kind: str = Field(
        description="changed, deleted, inserted, reordered or head (`core.chain.Problem`)."
    )
    problem_detail: str = Field(description="The problem in words.")


class LedgerCheckpointed(DomainEvent):
    """A signed checkpoint of the ledger's Merkle tree was written to the checkpoint folder
    (``mailwarden ledger checkpoint`` or the schedule). Its handler sends the checkpoint to the
    configured witnesses; the auditors' emails are queued with it."""

    TOPIC: ClassVar[str] = "core.ledger.checkpointed"
    KEY: ClassVar[str | None] = "{topic}:{size}"

    size: int = Field(description="The tree size: entries 1..size are covered.")
    root_hash: str = Field(description="The Merkle tree's root hash, base64.")
    checkpoint: str = Field(description="The signed checkpoint note (C2SP tlog-checkpoint).")
    file: str = Field(description="Where it was written.")


class OutboxEventFailed(DomainEvent):
    """An outbox event went dead: its handlers kept failing (or its payload no longer parsed)
    through every retry, so it is set aside until someone replays it. Sent by the dispatcher in
    the transaction that marks the event dead; never for a dead event of this topic itself."""

    TOPIC: ClassVar[str] = "core.outbox_event.failed"

    event: int = Field(description="The dead outbox event's ID.")
    event_key: str = Field(description="The dead event's idempotency key.")
    event_topic: str = Field(description="The dead event's topic.")
    attempts: int = Field(description="How many times it was tried.")
    last_error: str = Field(description="The last failure, as the dispatcher recorded it.")
    failed_at: datetime = Field(description="When it was declared dead.")


# ============================================================================= directory


class SiteRetentionChanged(DomainEvent):
    """A site's retention rules changed (docs/retention.md)."""

    TOPIC: ClassVar[str] = "directory.retention.changed"

    site: str = Field(description="The site's code.")
    media_days: int | None = Field(description="Photos, X-ray images and signatures: days.")
    access_event_months: int | None = Field(description="Access events: months.")
    departed_person_days: int | None = Field(description="Departed people: days.")


class RecipientAnonymised(DomainEvent):
    """A departed person's personal fields were replaced by a placeholder, by the retention
    rule; apps holding their own copies (a cardholder's name) clear them on this event."""

    TOPIC: ClassVar[str] = "directory.recipient.anonymised"
    KEY: ClassVar[str | None] = "{topic}:{recipient_id}"

    recipient_id: int = Field(description="The person's row, which stays.")
    placeholder: str = Field(description="The name they are shown by now.")


# ============================================================================= custody


class ItemReceived(DomainEvent):
    """An item was logged at intake. It is queued for screening in the same change, so an
    :class:`ItemQueuedForScreening` for the same item always follows."""

    TOPIC: ClassVar[str] = "custody.item.received"
    KEY: ClassVar[str | None] = "{topic}:{uid}"

    uid: str = Field(description="The item's ID (`MW-` and 8 characters).")
    site: str = Field(description="The site's code.")
    kind: str = Field(description="letter, flat, parcel, ... (`custody.models.ItemKind`).")


class ItemTransitioned(DomainEvent):
    """The base of the custody state changes: one topic per state an item can move into, so a
    subscriber picks the moves it cares about (``outbox.handles`` on this base takes them all).
    The ledger records each move as ``custody.item.transitioned``."""

    # The custody state (``custody.states.State``) the item has just entered.
    STATE: ClassVar[str] = ""
    KEY: ClassVar[str | None] = "{topic}:{uid}:{version}"

    uid: str = Field(description="The item's ID.")
    previous: str = Field(description="The state the item left.")
    location: str = Field(description="The code of the location the item is at now.")
    version: int = Field(description="The item's version after the move (one per change).")


class ItemQueuedForScreening(ItemTransitioned):
    """An item logged at intake entered the screening queue (every item is screened)."""

    TOPIC: ClassVar[str] = "custody.item.queued_for_screening"
    STATE: ClassVar[str] = "awaiting_screening"


class ItemCleared(ItemTransitioned):
    """Screening found nothing that holds the item back: it may go on to its recipient."""

    TOPIC: ClassVar[str] = "custody.item.cleared"
    STATE: ClassVar[str] = "cleared"


class ItemQuarantined(ItemTransitioned):
    """An item was put in quarantine (by a screening decision, or by hand with a reason). It
    leaves quarantine only on a two-person decision."""

    TOPIC: ClassVar[str] = "custody.item.quarantined"
    STATE: ClassVar[str] = "quarantined"


class ItemReleased(ItemTransitioned):
    """Two people agreed to release a quarantined item; it may go on to its recipient."""

    TOPIC: ClassVar[str] = "custody.item.released"
    STATE: ClassVar[str] = "released"


class ItemDestroyed(ItemTransitioned):
    """Two people agreed to destroy a quarantined item. Final."""

    TOPIC: ClassVar[str] = "custody.item.destroyed"
    STATE: ClassVar[str] = "destroyed"


class ItemHandedToAuthorities(ItemTransitioned):
    """Two people agreed to hand a quarantined item to the authorities. Final."""

    TOPIC: ClassVar[str] = "custody.item.handed_to_authorities"
    STATE: ClassVar[str] = "handed_to_authorities"


class ItemReadyForPickup(ItemTransitioned):
    """A screened item was shelved for its recipient to collect. Custody invites the recipient
    (the arrival email) on this event."""

    TOPIC: ClassVar[str] = "custody.item.made_ready_for_pickup"
    STATE: ClassVar[str] = "ready_for_pickup"


class ItemOutForDelivery(ItemTransitioned):
    """A screened item left the mailroom to be delivered to its recipient's desk."""

    TOPIC: ClassVar[str] = "custody.item.sent_out_for_delivery"
    STATE: ClassVar[str] = "out_for_delivery"


class ItemDelivered(ItemTransitioned):
    """An item out for delivery was handed to its recipient, with proof. Final."""

    TOPIC: ClassVar[str] = "custody.item.delivered"
    STATE: ClassVar[str] = "delivered"


class ItemPickedUp(ItemTransitioned):
    """An item was collected at the counter by its recipient or a delegate, with proof. Final."""

    TOPIC: ClassVar[str] = "custody.item.picked_up"
    STATE: ClassVar[str] = "picked_up"


class ItemReturned(ItemTransitioned):
    """An item was returned to its sender. Final."""

    TOPIC: ClassVar[str] = "custody.item.returned"
    STATE: ClassVar[str] = "returned"


class ManifestImported(DomainEvent):
    """A carrier's advance manifest was imported: its parcels are expected at the site, and a
    scan of one of their tracking numbers at intake finds its recipient at once."""

    TOPIC: ClassVar[str] = "custody.manifest.imported"
    KEY: ClassVar[str | None] = "{topic}:{sha256}"

    site: str = Field(description="The site's code.")
    manifest: str = Field(description="The uploaded file's name.")
    sha256: str = Field(description="The SHA-256 of the uploaded file.")
    expected: int = Field(description="How many parcels it added to the expected list.")


class ItemLegalHoldPlaced(DomainEvent):
    """A legal hold was placed on an item: its photo, signature and X-ray images are kept
    whatever the retention rules say, until the hold is released."""

    TOPIC: ClassVar[str] = "custody.legal_hold.placed"

    uid: str = Field(description="The item's ID.")
    reason: str = Field(description="Why it is held.")
    by: str = Field(description="Who placed it (actor label).")


class ItemLegalHoldReleased(DomainEvent):
    """An item's legal hold was released; the retention rules apply to it again."""

    TOPIC: ClassVar[str] = "custody.legal_hold.released"

    uid: str = Field(description="The item's ID.")
    reason: str = Field(description="Why it was released.")
    by: str = Field(description="Who released it (actor label).")


# ============================================================================= screening


class ScreeningAlarm(DomainEvent):
    """A screening decision put an item in the critical tier: do not open, evacuate. The item
    is quarantined where it was found, in the same change."""

    TOPIC: ClassVar[str] = "screening.alarm.raised"
    KEY: ClassVar[str | None] = "{topic}:{decision}"

    uid: str = Field(description="The item's ID.")
    tier: str = Field(description="The decision's risk tier (critical).")
    reasons: list[str] = Field(description="Why, in the policy's words, in order.")
    screener: str = Field(description="The screener's actor label.")
    decision: int = Field(description="The screening decision's ID.")
    site: str = Field(description="The site's code.")
    location: str = Field(description="The code of the location where the item stays.")


class ScreeningDecisionRecorded(DomainEvent):
    """A screener recorded a decision on an item: its tier, the indicators ticked and how long
    the screener had it open. Sent for every decision, whatever its tier."""

    TOPIC: ClassVar[str] = "screening.decision.recorded"
    KEY: ClassVar[str | None] = "{topic}:{decision}"

    uid: str = Field(description="The item's ID.")
    decision: int = Field(description="The screening decision's ID.")
    tier: str = Field(description="low, elevated, high or critical.")
    action: str = Field(description="What the tier required (clear, second_screener, ...).")
    status: str = Field(description="cleared, pending, quarantined.")
    indicators: list[str] = Field(description="The codes of the indicators the screener ticked.")
    screener: str = Field(description="The screener's actor label.")
    screener_user_id: int | None = Field(description="The screener's user ID, for a person.")
    seconds_on_item: int | None = Field(
        description="From the workstation opening the item to the decision, where known."
    )
    site: str = Field(description="The site's code.")
    decided_at: datetime = Field(description="When the decision was recorded.")


# ============================================================================= access


class AccessRulesChanged(DomainEvent):
    """The base of the access-rule changes. Each bumps the site's rules version, which the
    edge controllers fetch on their next sync. The ledger entry of each change is named after
    its topic."""

    subject: str = Field(description="What changed, as `<type>:<id>` (the ledger's subject).")
    site: str = Field(description="The site's code.")
    rules_version: int = Field(description="The site's rules version after the change.")


class ControllerCreated(AccessRulesChanged):
    """An edge controller was enrolled: it has a device token and a sync secret."""

    TOPIC: ClassVar[str] = "access.controller.created"

    token: str = Field(description="The prefix of the controller's device token.")
    fail_mode: str = Field(description="What its doors do when it cannot decide.")


class ControllerRekeyed(AccessRulesChanged):
    """An edge controller's device token and sync secret were replaced (as after the box was
    exposed); its old tokens are revoked."""

    TOPIC: ClassVar[str] = "access.controller.rekeyed"

    token: str = Field(description="The prefix of the new device token.")
    revoked_tokens: list[str] = Field(description="The prefixes of the revoked tokens.")
    reason: str = Field(description="Why, as given.")


class ScheduleCreated(AccessRulesChanged):
    """An access schedule was created."""

    TOPIC: ClassVar[str] = "access.schedule.created"


class ScheduleUpdated(AccessRulesChanged):
    """An access schedule's times were changed."""

    TOPIC: ClassVar[str] = "access.schedule.updated"


class HolidayAdded(AccessRulesChanged):
    """A holiday was added to a site's calendar."""

    TOPIC: ClassVar[str] = "access.holiday.added"


class HolidayRemoved(AccessRulesChanged):
    """A holiday was removed from a site's calendar."""

    TOPIC: ClassVar[str] = "access.holiday.removed"


class AreaCreated(AccessRulesChanged):
    """An access area was created."""

    TOPIC: ClassVar[str] = "access.area.created"

    mode: str = Field(description="The area's mode.")


class DoorCreated(AccessRulesChanged):
    """A door was created."""

    TOPIC: ClassVar[str] = "access.door.created"

    mode: str = Field(description="The door's mode.")
    location: str | None = Field(description="The code of the location it guards, if any.")


class DoorModeChanged(AccessRulesChanged):
    """A door's mode (and unlock schedule) was changed."""

    TOPIC: ClassVar[str] = "access.door.mode_changed"

    mode: str = Field(description="The door's new mode.")
    schedule: int | None = Field(description="The ID of its unlock schedule, if any.")


class DoorRulesChanged(AccessRulesChanged):
    """A door's two-person, first-person-in or lockdown rules were changed."""

    TOPIC: ClassVar[str] = "access.door.rules_changed"

    two_person_window_s: int | None = Field(description="The two-person window, if any.")
    first_person_levels: list[int] = Field(description="Levels that start a scheduled unlock.")
    lockdown_levels: list[int] = Field(description="Levels still admitted in a lockdown.")


class ReaderCreated(AccessRulesChanged):
    """A card reader was added to a controller."""

    TOPIC: ClassVar[str] = "access.reader.created"

    door: str = Field(description="The code of the door it reads for.")
    osdp_address: int = Field(description="Its OSDP address on the controller's bus.")
    direction: str = Field(description="in or out.")


class LevelCreated(AccessRulesChanged):
    """An access level was created."""

    TOPIC: ClassVar[str] = "access.level.created"

    name: str = Field(description="The level's name.")
    schedule: int = Field(description="The ID of its schedule.")
    doors: list[str] = Field(description="The codes of its doors.")


class LevelUpdated(AccessRulesChanged):
    """An access level's schedule or doors were changed."""

    TOPIC: ClassVar[str] = "access.level.updated"

    schedule: int = Field(description="The ID of its schedule.")
    doors: list[str] = Field(description="The codes of its doors.")


class LockdownStarted(AccessRulesChanged):
    """A site was locked down: every door there refuses every card."""

    TOPIC: ClassVar[str] = "access.lockdown.started"

    reason: str = Field(description="Why, as given.")


class LockdownLifted(AccessRulesChanged):
    """A site's lockdown was lifted."""

    TOPIC: ClassVar[str] = "access.lockdown.lifted"

    reason: str = Field(description="Why, as given (may be empty).")
    since: datetime | None = Field(description="When the lockdown had started.")


class CardholderCreated(DomainEvent):
    """A cardholder (employee, contractor, visitor...) was created."""

    TOPIC: ClassVar[str] = "access.cardholder.created"

    cardholder: int = Field(description="The cardholder's ID.")
    kind: str = Field(description="The cardholder's kind.")


class CardholderUpdated(DomainEvent):
    """A cardholder's name, kind or company was corrected."""

    TOPIC: ClassVar[str] = "access.cardholder.updated"

    cardholder: int = Field(description="The cardholder's ID.")
    fields: list[str] = Field(description="The names of the fields that changed.")


class CredentialIssued(DomainEvent):
    """A credential (card, PIN, or both) was issued to a cardholder."""

    TOPIC: ClassVar[str] = "access.credential.issued"

    credential: int = Field(description="The credential's ID.")
    holder: int = Field(description="The cardholder's ID.")
    kind: str = Field(description="card, pin or card_and_pin.")
    card: str | None = Field(description="The card as `<format> <facility>/<number>`, if any.")
    levels: list[int] = Field(description="The IDs of its access levels.")
    valid_until: datetime | None = Field(description="When it expires, if it does.")


class CredentialLevelsChanged(DomainEvent):
    """A credential's access levels were changed."""

    TOPIC: ClassVar[str] = "access.credential.levels_changed"

    credential: int = Field(description="The credential's ID.")
    levels: list[int] = Field(description="The IDs of its access levels now.")


class CredentialRevoked(DomainEvent):
    """A credential was revoked; the controllers refuse it from their next sync."""

    TOPIC: ClassVar[str] = "access.credential.revoked"

    credential: int = Field(description="The credential's ID.")
    reason: str = Field(description="Why, as given.")


class AlarmThresholdsChanged(DomainEvent):
    """A site's invalid-attempts alarm thresholds were changed."""

    TOPIC: ClassVar[str] = "access.alarm_thresholds.changed"

    site: str = Field(description="The site's code.")
    invalid_attempts: int = Field(description="Refused presentations at one reader...")
    window_s: int = Field(description="...within this many seconds raise an alarm.")


class RulesPublished(DomainEvent):
    """A new signed rule snapshot was built for an edge controller."""

    TOPIC: ClassVar[str] = "access.rules.published"

    controller: str = Field(description="The controller's name.")
    version: int = Field(description="The snapshot's version for this controller.")
    site_version: int = Field(description="The site's rules version it was built from.")
    content_hash: str = Field(description="The SHA-256 of its content.")
    credentials: int = Field(description="How many credentials it holds.")
    controller_claimed: int | None = Field(
        None, description="The version the controller claimed to hold, when beyond ours."
    )


class AccessAlarmRaised(DomainEvent):
    """The base of the access alarms: one topic per kind of alarm. An alarm is raised once
    while its condition lasts; :class:`AccessAlarmCleared` says when the condition ended. The
    ledger records each as ``access.alarm.raised``, with its kind."""

    # The alarm's kind (``access.models.AlarmKind``).
    KIND: ClassVar[str] = ""

    alarm: int = Field(description="The alarm's ID.")
    site: str = Field(description="The site's code.")
    controller: str | None = Field(description="The controller's name, where one is involved.")
    door: str | None = Field(description="The door's code, where one is involved.")
    reader: str | None = Field(description="The reader's code, where one is involved.")
    occurred_at: datetime = Field(description="When the condition began (the edge's time).")
    detail: str = Field(description="What happened, in words.")


class DoorForced(AccessAlarmRaised):
    """A door opened without a granted card or an exit request (forced open)."""

    TOPIC: ClassVar[str] = "access.door.forced"
    KIND: ClassVar[str] = "forced_open"


class DoorHeld(AccessAlarmRaised):
    """A door stayed open longer than its allowed time (held open)."""

    TOPIC: ClassVar[str] = "access.door.held_open"
    KIND: ClassVar[str] = "held_open"


class InvalidAttemptsExceeded(AccessAlarmRaised):
    """A reader refused more presentations within the site's window than its threshold
    allows."""

    TOPIC: ClassVar[str] = "access.reader.invalid_attempts_exceeded"
    KIND: ClassVar[str] = "invalid_attempts"


class ReaderTampered(AccessAlarmRaised):
    """A reader reported tampering."""

    TOPIC: ClassVar[str] = "access.reader.tampered"
    KIND: ClassVar[str] = "tamper"


class ReaderOffline(AccessAlarmRaised):
    """A reader stopped answering its controller."""

    TOPIC: ClassVar[str] = "access.reader.went_offline"
    KIND: ClassVar[str] = "reader_offline"


class ControllerOffline(AccessAlarmRaised):
    """An edge controller has not synced for longer than its limit."""

    TOPIC: ClassVar[str] = "access.controller.went_offline"
    KIND: ClassVar[str] = "controller_offline"


class ControllerRulesRejected(AccessAlarmRaised):
    """An edge controller refused the rules it was sent (a signature or version that does not
    verify); it keeps the rules it has."""

    TOPIC: ClassVar[str] = "access.controller.rules_rejected"
    KIND: ClassVar[str] = "rules_rejected"


class ControllerClockSkewed(AccessAlarmRaised):
    """An edge controller's clock is further from the server's than allowed."""

    TOPIC: ClassVar[str] = "access.controller.clock_skewed"
    KIND: ClassVar[str] = "clock_skew"


class AccessAlarmCleared(DomainEvent):
    """An access alarm's condition ended (door closed, reader back, clock in line...).
    Operators still acknowledge the alarm."""

    TOPIC: ClassVar[str] = "access.alarm.cleared"

    alarm: int = Field(description="The alarm's ID.")
    kind: str = Field(description="The alarm's kind (`KIND` of its raised event).")
    site: str = Field(description="The site's code.")


class AccessAlarmAcknowledged(DomainEvent):
    """An operator acknowledged an access alarm."""

    TOPIC: ClassVar[str] = "access.alarm.acknowledged"

    alarm: int = Field(description="The alarm's ID.")
    by: str = Field(description="The operator's actor label.")


class AccessEventRecorded(DomainEvent):
    """An event from an edge controller (a card decision, a door or reader event...) was
    stored, once, however often the controller sent it. The live access log follows these."""

    TOPIC: ClassVar[str] = "access.event.recorded"

    event: int = Field(description="The stored access event's ID.")
    type: str = Field(description="The edge event type (`contracts.access`), e.g. access.decision.")
    site: str = Field(description="The site's code.")
    door: str | None = Field(description="The door's code, if any.")
    reader: str | None = Field(description="The reader's code, if any.")
    granted: bool | None = Field(description="For a card decision: whether it was granted.")
    reason: str = Field(description="The decision's or event's reason code.")
    occurred_at: datetime = Field(description="When it happened (the edge's time).")


# ============================================================================= incidents


class IncidentAlarmRaised(DomainEvent):
    """The alarm console raised a new alarm from one of its sources (a screening alarm, an
    access alarm, a ledger verification failure). Repeats of the same condition fold into it
    and raise nothing new."""

    TOPIC: ClassVar[str] = "incidents.alarm.raised"

    alarm: int = Field(description="The console alarm's ID.")
    type: str = Field(description="The alarm's type (the topic of the event that raised it).")
    severity: int = Field(description="1 (low) to 4 (critical).")
    site: str | None = Field(description="The site's code, where the alarm has a site.")
    source: str = Field(description="screening, access, ledger, outbox or delivery.")
    source_key: str = Field(description="What makes repeats the same condition.")
    action: str = Field(description="What the alarm rules decided: open_incident, notify, log.")


class IncidentAlarmAcknowledged(DomainEvent):
    """Someone acknowledged a console alarm, with a note."""

    TOPIC: ClassVar[str] = "incidents.alarm.acknowledged"

    alarm: int = Field(description="The console alarm's ID.")
    by: str = Field(description="The actor label of who acknowledged it.")
    note: str = Field(description="Their note (may be empty).")


class IncidentOpened(DomainEvent):
    """An incident was opened, by a person or by an alarm rule; an exercise's incident too
    (``exercise``). Escalation policies start from this."""

    TOPIC: ClassVar[str] = "incidents.incident.opened"
    KEY: ClassVar[str | None] = "{topic}:{incident}"

    incident: int = Field(description="The incident's ID.")
    reference: str = Field(description="The incident's reference, e.g. INC-00012.")
    type: str = Field(description="The incident type, e.g. suspicious_package.")
    severity: int = Field(description="1 (SEV-1, the worst) to 4.")
    site: str = Field(description="The site's code.")
    title: str = Field(description="The incident's title.")
    exercise: bool = Field(description="True for an exercise's incident.")


class IncidentStateChanged(DomainEvent):
    """An incident moved between open, contained, resolved and closed."""

    TOPIC: ClassVar[str] = "incidents.incident.state_changed"

    incident: int = Field(description="The incident's ID.")
    reference: str = Field(description="The incident's reference.")
    site: str = Field(description="The site's code.")
    previous: str = Field(description="The state it left.")
    state: str = Field(description="The state it entered.")
    by: str = Field(description="The actor label of who moved it.")
    exercise: bool = Field(description="True for an exercise's incident.")
    title: str = Field("", description="The incident's title.")
    at: datetime | None = Field(None, description="When it moved.")


class IncidentBroadcastSent(DomainEvent):
    """A site-wide message (evacuate, shelter in place, avoid the area, all clear) was queued
    to everyone at a site on every channel they have, or queued again to those who have not
    answered its roll call (``round`` above 1)."""

    TOPIC: ClassVar[str] = "incidents.broadcast.sent"
    KEY: ClassVar[str | None] = "{topic}:{broadcast}:{round}"

    broadcast: int = Field(description="The site message's ID.")
    site: str = Field(description="The site's code.")
    kind: str = Field(description="evacuate, shelter, avoid or all_clear.")
    headline: str = Field(description="The message's headline.")
    incident: int | None = Field(description="The incident it belongs to, if any.")
    exercise: bool = Field(description="True when it is part of an exercise.")
    round: int = Field(description="1 for the first sending, then 2, 3... for each re-send.")
    recipients: int = Field(description="How many people this round went to.")
    messages: int = Field(description="How many messages (people times channels) were queued.")


class IncidentRollCallAnswered(DomainEvent):
    """Someone answered a site message's roll call (safe or need help) from its link, or
    changed their answer."""

    TOPIC: ClassVar[str] = "incidents.roll_call.answered"

    broadcast: int = Field(description="The site message's ID.")
    site: str = Field(description="The site's code.")
    recipient: int = Field(description="The directory ID of the person who answered.")
    answer: str = Field(description="safe or need_help.")
    via: str = Field(description="The channel of the message whose link was used.")
    exercise: bool = Field(description="True when it is part of an exercise.")
    incident_reference: str = Field("", description="The incident it belongs to, if any.")
    incident_title: str = Field("", description="That incident's title.")
    answered_at: datetime | None = Field(None, description="When it was answered.")


class IncidentEscalationPaged(DomainEvent):
    """An escalation paged one level of its policy: the people reached and the integrations
    (webhook endpoints, MQTT topics) told. ``level`` and ``round`` count from 1."""

    TOPIC: ClassVar[str] = "incidents.escalation.paged"
    KEY: ClassVar[str | None] = "{topic}:{escalation}:{round}:{level}"

    escalation: int = Field(description="The escalation's ID.")
    ref: str = Field(description="What it pages about, e.g. incident:12 or alarm:7.")
    policy: str = Field(description="The escalation policy's name.")
    level: int = Field(description="The level paged, from 1.")
    round: int = Field(description="The run through the policy, from 1.")
    people: list[str] = Field(description="Usernames of the people paged.")
    integrations: list[str] = Field(description="Webhook endpoints and MQTT topics told.")
    exercise: bool = Field(description="True when it pages about an exercise.")


class IncidentEscalationAcknowledged(DomainEvent):
    """Enough people acknowledged an escalation (its level's quorum): paging stops."""

    TOPIC: ClassVar[str] = "incidents.escalation.acknowledged"
    KEY: ClassVar[str | None] = "{topic}:{escalation}"

    escalation: int = Field(description="The escalation's ID.")
    ref: str = Field(description="What it paged about.")
    by: list[str] = Field(description="The actor labels of who acknowledged it.")
    exercise: bool = Field(description="True when it paged about an exercise.")


class IncidentEscalationExhausted(DomainEvent):
    """An escalation ran through every level and repeat with nobody acknowledging it."""

    TOPIC: ClassVar[str] = "incidents.escalation.exhausted"
    KEY: ClassVar[str | None] = "{topic}:{escalation}"

    escalation: int = Field(description="The escalation's ID.")
    ref: str = Field(description="What it paged about.")
    policy: str = Field(description="The escalation policy's name.")
    exercise: bool = Field(description="True when it paged about an exercise.")


class IncidentLegalHoldPlaced(DomainEvent):
    """A legal hold was placed on an incident: the items linked to it keep their content."""

    TOPIC: ClassVar[str] = "incidents.legal_hold.placed"

    reference: str = Field(description="The incident's reference.")
    reason: str = Field(description="Why it is held.")
    by: str = Field(description="Who placed it (actor label).")


class IncidentLegalHoldReleased(DomainEvent):
    """An incident's legal hold was released."""

    TOPIC: ClassVar[str] = "incidents.legal_hold.released"

    reference: str = Field(description="The incident's reference.")
    reason: str = Field(description="Why it was released.")
    by: str = Field(description="Who released it (actor label).")


# ============================================================================= surveillance


class VideoEventRaised(DomainEvent):
    """A camera's video analytics saw something that needs a person: loitering, presence after
    hours, an unattended object, a crowd, or tailgating at a door (more people entered than the
    door granted). Door-line crossings that a grant paid for are recorded, not raised."""

    TOPIC: ClassVar[str] = "surveillance.video_event.raised"
    KEY: ClassVar[str | None] = "{topic}:{event}"

    event: int = Field(description="The video event's ID.")
    type: str = Field(description="loitering, after_hours, unattended, crowding or tailgating.")
    camera: str = Field(description="The camera's name.")
    site: str = Field(description="The site's code.")
    zone: str = Field(description="The zone or door line that raised it.")
    door: str | None = Field(description="The access door's code, for tailgating.")
    occurred_at: datetime = Field(description="When it happened (the worker's clock).")
    detail: str = Field(description="What happened, in words.")
    has_snapshot: bool = Field(description="Whether a snapshot was recorded.")
    has_clip: bool = Field(description="Whether a clip was recorded.")


class VideoEventHandled(DomainEvent):
    """An operator acknowledged a video event, or marked it as a false positive."""

    TOPIC: ClassVar[str] = "surveillance.video_event.handled"
    KEY: ClassVar[str | None] = "{topic}:{event}"

    event: int = Field(description="The video event's ID.")
    by: str = Field(description="Who handled it.")
    false_positive: bool = Field(description="True when it was marked as a false positive.")
    note: str = Field(description="Their note (may be empty).")


class CameraDisconnected(DomainEvent):
    """A camera stopped delivering frames to its worker, or its worker stopped reporting."""

    TOPIC: ClassVar[str] = "surveillance.camera.disconnected"

    camera: str = Field(description="The camera's name.")
    site: str = Field(description="The site's code.")
    reason: str = Field(description="Why, as the worker or the server saw it.")
    occurred_at: datetime = Field(description="When it was noticed.")


class CameraReconnected(DomainEvent):
    """A camera that was offline delivers frames again."""

    TOPIC: ClassVar[str] = "surveillance.camera.reconnected"

    camera: str = Field(description="The camera's name.")
    site: str = Field(description="The site's code.")
    occurred_at: datetime = Field(description="When it was noticed.")


# ============================================================================= training


class TrainingCertificateIssued(DomainEvent):
    """A person passed a course and holds its certificate until it expires."""

    TOPIC: ClassVar[str] = "training.certificate.issued"
    KEY: ClassVar[str | None] = "{topic}:{certificate}"

    certificate: int = Field(description="The certificate's ID.")
    code: str = Field(description="Its verification code, checkable on the public page.")
    course: str = Field(description="The course's slug.")
    user: str = Field(description="The holder's username.")
    score: int = Field(description="The holder's quiz score, in percent.")
    expires_at: datetime = Field(description="When it stops being current.")


class TrainingTestParcelScored(DomainEvent):
    """A planted test parcel was screened: what the clerk and the screener did with it is
    scored. The risk app takes this as evidence of how the mailroom performs."""

    TOPIC: ClassVar[str] = "training.test_parcel.scored"
    KEY: ClassVar[str | None] = "{topic}:{parcel}"

    parcel: int = Field(description="The test parcel's ID.")
    site: str = Field(description="The site's code.")
    uid: str = Field(description="The mail item it came through as.")
    expected_tier: str = Field(description="The tier its planted indicators call for.")
    tier_reached: str = Field(description="The tier the screening decision reached.")
    indicators_planted: list[str] = Field(description="The indicator codes prepared on it.")
    indicators_missed: list[str] = Field(description="Planted indicators nobody ticked.")
    flagged_at_intake: bool = Field(description="Whether the clerk flagged it at intake.")
    seconds_to_decision: int | None = Field(description="From intake to the decision.")
    passed: bool = Field(description="The tier reached was at least the expected one.")


# ============================================================================= risk


class RiskAssessmentFinalised(DomainEvent):
    """A site's risk assessment was finalised: its answers, register and scores are fixed."""

    TOPIC: ClassVar[str] = "risk.assessment.finalised"
    KEY: ClassVar[str | None] = "{topic}:{assessment}"

    assessment: int = Field(description="The assessment's ID.")
    site: str = Field(description="The site's code.")
    method: str = Field(description="The scoring method's slug.")
    risks: int = Field(description="How many risks its register holds.")
    high_or_critical: int = Field(description="How many of them are high or critical (residual).")


class RiskFindingProposed(DomainEvent):
    """An automatic rule found a vulnerability in the live configuration or history and
    proposed it as a finding (once per finding; a rerun that still sees it sends nothing)."""

    TOPIC: ClassVar[str] = "risk.finding.proposed"
    KEY: ClassVar[str | None] = "{topic}:{finding}"

    finding: int = Field(description="The finding's ID.")
    assessment: int = Field(description="The assessment's ID.")
    site: str = Field(description="The site's code.")
    rule: str = Field(description="The rule's slug.")
    title: str = Field(description="What was found, in one line.")


class RiskTreatmentLapsed(DomainEvent):
    """A risk treatment passed its due date unfinished; its owner is told (once per due date)."""

    TOPIC: ClassVar[str] = "risk.treatment.lapsed"
    KEY: ClassVar[str | None] = "{topic}:{treatment}:{due}"

    treatment: int = Field(description="The treatment's ID.")
    risk: str = Field(description="The risk's title.")
    site: str = Field(description="The site's code.")
    owner: str = Field(description="The owner's username.")
    due: date = Field(description="The date it was due.")


class RiskControlContradicted(DomainEvent):
    """A control claimed as implemented was measured against live evidence and fell short."""

    TOPIC: ClassVar[str] = "risk.control.contradicted"

    control: int = Field(description="The control's ID.")
    title: str = Field(description="The control's title.")
    site: str = Field(description="The site's code.")
    measure: str = Field(description="The evidence measure's slug.")
    summary: str = Field(description="What was measured, in one sentence.")
    evaluated_at: datetime = Field(description="When it was measured.")


# ============================================================================= reports


class WeeklySummarySent(DomainEvent):
    """A site's weekly summary of the week just ended was queued by email to its managers
    (once per site and week)."""

    TOPIC: ClassVar[str] = "reports.weekly_summary.sent"
    KEY: ClassVar[str | None] = "{topic}:{site}:{week_start}"

    site: str = Field(description="The site's code.")
    week_start: date = Field(description="The Monday the week began, in the site's time zone.")
    recipients: int = Field(description="How many managers it was queued for.")


# ============================================================================= the registry

CATALOGUE: Mapping[str, type[DomainEvent]] = MappingProxyType(_catalogue)

# The custody state change for each state an item can move into, by state value.
TRANSITIONS: Mapping[str, type[ItemTransitioned]] = MappingProxyType(
    {m.STATE: m for m in _catalogue.values() if issubclass(m, ItemTransitioned)}
)

# The access alarm for each alarm kind, by kind value.
ACCESS_ALARMS: Mapping[str, type[AccessAlarmRaised]] = MappingProxyType(
    {m.KIND: m for m in _catalogue.values() if issubclass(m, AccessAlarmRaised)}
)


def model_for(topic: str) -> type[DomainEvent]:
    """The catalogued model of ``topic``; KeyError when the topic is not in the catalogue."""
    return CATALOGUE[topic]


def parse(topic: str, payload: Any) -> DomainEvent:
    """A stored payload read back as its topic's model (KeyError, pydantic.ValidationError)."""
    return model_for(topic).model_validate(payload)


# ============================================================================= the document


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not get_args(annotation):
        return annotation.__name__
    return repr(annotation).replace("typing.", "").replace("datetime.datetime", "datetime")


def _when(model: type[DomainEvent]) -> str:
    return " ".join(inspect.cleandoc(model.__doc__ or "").split())


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + (dot.strip() if dot else "")


def _key_rule(model: type[DomainEvent]) -> str:
    if model.KEY is None:
        return "none: every emission is a new event."
    return f"`{model.KEY.replace('{topic}', model.TOPIC)}`"


def markdown() -> str:
    """``docs/events.md``: the catalogue as a document, generated from the models."""
    lines = [
        "# Domain events",
        "",
        "<!-- Generated by `mailwarden events --markdown > docs/events.md`; do not edit. -->",
        "",
        "Every change that others may react to writes one of these events to the transactional",
        "outbox, in the transaction of the change; the dispatcher then hands the parsed event to",
        "each handler registered for it (`mailwarden.core.outbox.handles`), with retries. This is",
        "the whole list: the models live in `src/mailwarden/contracts/events.py`.",
        "",
        "Topics are named `<app>.<noun>.<verb>`, the verb in the past tense; ledger actions",
        "follow the same scheme (see `LEGACY_ACTIONS` in `src/mailwarden/core/ledger.py` for the",
        "names older ledger entries carry). The idempotency key, where there is one, makes a",
        "second emission of the same fact a no-op.",
        "",
        "| topic | model | when |",
        "| --- | --- | --- |",
    ]
    for topic, model in sorted(CATALOGUE.items()):
        lines.append(f"| `{topic}` | `{model.__name__}` | {_first_sentence(_when(model))} |")
    app = None
    for topic, model in sorted(CATALOGUE.items()):
        if topic.split(".")[0] != app:
            app = topic.split(".")[0]
            lines += ["", f"## {app}"]
        lines += [
            "",
            f"### `{topic}`",
            "",
            f"`{model.__name__}`: {_when(model)}",
            "",
            f"Idempotency key: {_key_rule(model)}",
            "",
            "| field | type | meaning |",
            "| --- | --- | --- |",
        ]
        for name, info in model.model_fields.items():
            meaning = (info.description or "").replace("|", "\\|")
            kind = _type_name(info.annotation).replace("|", "\\|")
            lines.append(f"| `{name}` | `{kind}` | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # Imported by name, so the document lists the very classes the server registers.
    from mailwarden.contracts import events

    sys.stdout.write(events.markdown())
