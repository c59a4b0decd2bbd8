"""Access control: controllers, doors, readers, cardholders, credentials, levels, schedules,
anti-passback areas, the rules published to each controller, the access log and alarms.

Rules reach an edge controller as a :class:`mailwarden.edge.rules.RuleSnapshot`; the fields here
that mirror the snapshot use the edge library's values (door modes, anti-passback modes, Wiegand
format names), so building a snapshot is a lookup, not a translation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailwarden.directory.models import Location, Recipient, Site
from mailwarden.edge.rules import AntiPassbackMode, DoorMode
from mailwarden.edge.wiegand import WiegandFormat


class FailMode(models.TextChoices):
    # Values are the edge's ``doors.FailureMode``.
    FAIL_SECURE = "fail_secure", "Fail secure (stays locked without power or rules)"
    FAIL_SAFE = "fail_safe", "Fail safe (releases without power or rules)"


class Mode(models.TextChoices):
    LOCKED = DoorMode.LOCKED.value, "Locked (card access)"
    SCHEDULED_UNLOCK = DoorMode.SCHEDULED_UNLOCK.value, "Unlocked on a schedule"
    LOCKDOWN = DoorMode.LOCKDOWN.value, "Lockdown"


class Direction(models.TextChoices):
    IN = "in", "Entry"
    OUT = "out", "Exit"


class AreaMode(models.TextChoices):
    HARD = AntiPassbackMode.HARD.value, "Hard (refuse)"
    SOFT = AntiPassbackMode.SOFT.value, "Soft (allow and flag)"
    TIMED = AntiPassbackMode.TIMED.value, "Timed (no re-entry within a time)"


class HolderKind(models.TextChoices):
    STAFF = "staff", "Staff"
    VISITOR = "visitor", "Visitor"
    CONTRACTOR = "contractor", "Contractor"


class CredentialKind(models.TextChoices):
    CARD = "card", "Card"
    PIN = "pin", "PIN"
    CARD_AND_PIN = "card_pin", "Card and PIN"


class CardFormat(models.TextChoices):
    H10301 = WiegandFormat.H10301.value, "H10301 (26-bit)"
    H10304 = WiegandFormat.H10304.value, "H10304 (37-bit)"
    CORPORATE_1000_35 = WiegandFormat.CORPORATE_1000_35.value, "HID Corporate 1000 (35-bit)"
    RAW = WiegandFormat.RAW.value, "Raw bits"


class AlarmKind(models.TextChoices):
    FORCED_OPEN = "forced_open", "Door forced open"
    HELD_OPEN = "held_open", "Door held open"
    INVALID_ATTEMPTS = "invalid_attempts", "Repeated invalid attempts"
    TAMPER = "tamper", "Reader tamper"
    READER_OFFLINE = "reader_offline", "Reader offline"
    CONTROLLER_OFFLINE = "controller_offline", "Controller offline"
    RULES_REJECTED = "rules_rejected", "Controller refused its rules"
    CLOCK_SKEW = "clock_skew", "Controller clock is wrong"


class SiteRules(models.Model):
    """Per-site rule state: the version every rule change bumps, lockdown, alarm thresholds."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="access_rules")
    version = models.PositiveBigIntegerField(default=1)
    lockdown = models.BooleanField(default=False)
    lockdown_at = models.DateTimeField(null=True, blank=True)
    lockdown_by = models.CharField(max_length=150, blank=True)
    lockdown_reason = models.CharField(max_length=200, blank=True)
    invalid_attempts_limit = models.PositiveSmallIntegerField(default=5)
    invalid_attempts_window_s = models.PositiveIntegerField(default=120)

    class Meta:
        verbose_name_plural = "site rules"

    def __str__(self) -> str:
        return f"{self.site.code} rules v{self.version}"


class PinPolicy(models.Model):
    """The one salt and work factor PINs are hashed with, in the form the edge checks them.

    One salt for the installation, not per site: a credential can open doors at several sites,
    and only its hash is kept, so it could not be re-hashed for another salt.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    salt = models.CharField(max_length=64)
    iterations = models.PositiveIntegerField(default=100_000)

    def __str__(self) -> str:
        return f"PIN policy ({self.iterations} iterations)"


class AccessController(models.Model):
    """An edge controller. Its device token names it; ``sync_secret`` signs its rules.

    The secret is stored as it is (hex), not hashed: the server must hold it to sign with HMAC.
    So anyone who reads this table can forge rule documents for every controller, which matters
    only if they can also deliver them to a controller (its API connection or its disk). Treat a
    database dump as a secret. Ed25519 signing would let the server keep only a private key per
    controller and the edge a public key; it needs ``cryptography``, which is not installed.
    """

    name = models.SlugField(max_length=100, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_controllers")
    sync_secret = models.CharField(max_length=64)
    fail_mode = models.CharField(
        max_length=12, choices=FailMode.choices, default=FailMode.FAIL_SECURE
    )
    offline_after_s = models.PositiveIntegerField(default=60)
    token_prefix = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # The site rules version the latest publication was built from; a poll that finds the site
    # still at this version needs no rebuild.
    built_site_version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class RulePublication(models.Model):
    """A rule version as published to one controller: the snapshot payload and its hash.

    Kept for the last versions, so a delta can be computed from what the controller holds and
    an access event's ``snapshot_version`` can be traced to the exact rules it was decided by.
    """

    controller = models.ForeignKey(
        AccessController, on_delete=models.CASCADE, related_name="publications"
    )
    version = models.PositiveIntegerField()
    site_version = models.PositiveBigIntegerField()
    content_hash = models.CharField(max_length=64)
    snapshot = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["controller", "version"], name="publication_version")
        ]

    def __str__(self) -> str:
        return f"{self.controller.name} v{self.version}"


class Schedule(models.Model):
    """Weekly windows in the site's time zone; on a site holiday only ``holiday_windows``.

    ``windows`` and ``holiday_windows`` hold the edge's ``WeeklyWindow`` / ``TimeWindow`` JSON.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_schedules")
    name = models.CharField(max_length=100)
    windows = models.JSONField(default=list)
    holiday_windows = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="schedule_name")]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="holiday_date")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class AntiPassbackArea(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_areas")
    code = models.SlugField(max_length=100)
    name = models.CharField(max_length=100, blank=True)
    mode = models.CharField(max_length=10, choices=AreaMode.choices)
    reentry_s = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="area_code")]

    def __str__(self) -> str:
        return self.code


class AccessLevel(models.Model):
    """Which doors, when."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_levels")
    name = models.CharField(max_length=100)
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="levels")
    # App-qualified: the type checker's Django plugin resolves a bare "Door" declared further
    # down only this way (django-stubs issue 1802).
    doors = models.ManyToManyField("access.Door", related_name="levels", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="level_name")]

    def __str__(self) -> str:
        return self.name


class Door(models.Model):
    """A door: its lock and contact settings, its mode, and the special rules it enforces.

    ``area_outside`` and ``area_inside`` are the anti-passback areas on either side: an entry
    reader moves a holder from outside to inside, an exit reader back.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="doors")
    code = models.SlugField(max_length=100)
    name = models.CharField(max_length=120, blank=True)
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="doors"
    )
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.LOCKED)
    unlock_schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="unlocked_doors"
    )
    unlock_s = models.PositiveIntegerField(default=5)
    held_open_s = models.PositiveIntegerField(default=30)
    fail_mode = models.CharField(
        max_length=12, choices=FailMode.choices, default=FailMode.FAIL_SECURE
    )
    area_outside = models.ForeignKey(
        AntiPassbackArea, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area_inside = models.ForeignKey(
        AntiPassbackArea, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    two_person_window_s = models.PositiveIntegerField(null=True, blank=True)
    first_person_levels = models.ManyToManyField(AccessLevel, related_name="+", blank=True)
    first_person_others_wait = models.BooleanField(default=False)
    lockdown_levels = models.ManyToManyField(AccessLevel, related_name="+", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="door_code")]

    def __str__(self) -> str:
        return self.name or self.code


class Reader(models.Model):
    controller = models.ForeignKey(
        AccessController, on_delete=models.PROTECT, related_name="readers"
    )
    door = models.ForeignKey(Door, on_delete=models.PROTECT, related_name="readers")
    code = models.SlugField(max_length=100)
    name = models.CharField(max_length=120, blank=True)
    osdp_address = models.PositiveSmallIntegerField()
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["controller", "code"], name="reader_code"),
            models.UniqueConstraint(fields=["controller", "osdp_address"], name="reader_osdp"),
        ]

    def __str__(self) -> str:
        return self.code


class Cardholder(models.Model):
    """A person who holds credentials: an employee (recipient), a staff user, or a visitor."""

    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=12, choices=HolderKind.choices, default=HolderKind.STAFF)
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.PROTECT, related_name="cardholders"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cardholders",
    )
    company = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Credential(models.Model):
    """A card, a PIN, or both. A PIN is kept only as the edge's salted hash."""

    holder = models.ForeignKey(Cardholder, on_delete=models.PROTECT, related_name="credentials")
    kind = models.CharField(max_length=10, choices=CredentialKind.choices)
    format = models.CharField(max_length=12, choices=CardFormat.choices, blank=True)
    facility = models.PositiveIntegerField(null=True, blank=True)
    card = models.PositiveBigIntegerField(null=True, blank=True)
    bit_length = models.PositiveSmallIntegerField(null=True, blank=True)
    pin_hash = models.CharField(max_length=64, blank=True)
    levels = models.ManyToManyField(AccessLevel, related_name="credentials", blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    temporary = models.BooleanField(default=False)
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            # A physical card (and a PIN on its own, whose hash is the lookup key at the door)
            # can belong to one live credential only, or the edge could not tell whose it is.
            models.UniqueConstraint(
                fields=["format", "facility", "card"],
                condition=Q(revoked_at__isnull=True, facility__isnull=False),
                name="credential_live_card",
            ),
            models.UniqueConstraint(
                fields=["format", "card"],
                condition=Q(revoked_at__isnull=True, facility__isnull=True, card__isnull=False),
                name="credential_live_raw_card",
            ),
            models.UniqueConstraint(
                fields=["pin_hash"],
                condition=Q(revoked_at__isnull=True, kind="pin"),
                name="credential_live_pin",
            ),
        ]
        indexes = [models.Index(fields=["format", "facility", "card"])]

    def __str__(self) -> str:
        if self.card is None:
            return f"PIN of {self.holder}"
        facility = "" if self.facility is None else f"{self.facility}/"
        return f"{self.format} {facility}{self.card}"


class AccessEvent(models.Model):
    """One event from an edge controller: the access log. ``key`` makes ingestion idempotent.

    The ``*_ref`` columns keep the ids as the edge sent them, so an event that names a reader or
    a card the server no longer knows is still recorded in full.
    """

    key = models.UUIDField(unique=True)
    controller = models.ForeignKey(
        AccessController, on_delete=models.PROTECT, related_name="events"
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_events")
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    reader = models.ForeignKey(
        Reader, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    reader_ref = models.CharField(max_length=100, blank=True)
    door = models.ForeignKey(
        Door, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    door_ref = models.CharField(max_length=100, blank=True)
    cardholder = models.ForeignKey(
        Cardholder, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    holder_ref = models.CharField(max_length=100, blank=True)
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    credential_ref = models.CharField(max_length=100, blank=True)
    companion = models.ForeignKey(
        Cardholder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted = models.BooleanField(null=True)
    reason = models.CharField(max_length=100, blank=True)
    snapshot_version = models.PositiveIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    # When the retention rule removed who made the event (cardholder, credential, companion and
    # the edge's payload), and which rule; the door, time and outcome stay (docs/retention.md).
    personal_purged_at = models.DateTimeField(null=True, blank=True)
    personal_purged_rule = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["site", "occurred_at"]),
            models.Index(fields=["door", "occurred_at"]),
            models.Index(fields=["reader", "granted", "occurred_at"]),
            models.Index(fields=["cardholder", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.occurred_at:%Y-%m-%d %H:%M:%S} {self.reason}"


class AccessAlarm(models.Model):
    """An alarm raised from edge events or by the controller watchdog.

    ``cleared_at`` is when the condition ended (door closed, reader back); ``acknowledged_at``
    is when an operator took it on. An alarm stays open until both.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="access_alarms")
    kind = models.CharField(max_length=20, choices=AlarmKind.choices)
    controller = models.ForeignKey(
        AccessController, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    door = models.ForeignKey(
        Door, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    reader = models.ForeignKey(
        Reader, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    event = models.ForeignKey(
        AccessEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    occurred_at = models.DateTimeField()
    raised_at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["kind", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
