"""Mail items: what custody follows from the dock to its recipient."""

from __future__ import annotations

from django.db import models

from mailwarden.custody.states import GONE_FROM_MAILROOM, State
from mailwarden.directory.models import Location, Recipient, Site


class ItemKind(models.TextChoices):
    LETTER = "letter", "Letter"
    FLAT = "flat", "Flat"
    PARCEL = "parcel", "Parcel"
    PALLET = "pallet", "Pallet"


class MailItem(models.Model):
    uid = models.CharField(max_length=16, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="items")
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_type = models.CharField(max_length=60, blank=True)
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    sender = models.CharField(max_length=200, blank=True)
    accountable = models.BooleanField(default=False)
    # The clerk thought it looked suspicious at intake: screening sees it first.
    flagged = models.BooleanField(default=False, db_default=False)
    # Why a manager should review the item (a tracking number logged although no carrier's rule
    # accepts it, and the clerk's reason); empty when nothing needs review.
    review_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    length_mm = models.PositiveIntegerField(null=True, blank=True)
    width_mm = models.PositiveIntegerField(null=True, blank=True)
    height_mm = models.PositiveIntegerField(null=True, blank=True)
    weight_g = models.PositiveIntegerField(null=True, blank=True)
    photo_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="items")
    state = models.CharField(max_length=30, choices=State.choices, db_index=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="items")
    received_at = models.DateTimeField(db_index=True)
    state_changed_at = models.DateTimeField()
    pickup_failures = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    notes = models.TextField(blank=True)
    # A legal hold keeps the item's content (photo, signature, X-ray images) from every purge
    # until it is released (docs/retention.md); empty reason: not held.
    # The hand-over's drawn signature, as its ledger entry names it ("" without one).
    signature_sha256 = models.CharField(
        max_length=64, blank=True, default="", db_default="", db_index=True
    )
    legal_hold_reason = models.CharField(max_length=300, blank=True, default="", db_default="")
    legal_hold_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    legal_hold_at = models.DateTimeField(null=True, blank=True)
    # When the retention rule removed the item's photo and signatures, and which rule; the hashes
    # stay, in ``photo_sha256`` and on the ledger.
    content_purged_at = models.DateTimeField(null=True, blank=True)
    content_purged_rule = models.CharField(max_length=200, blank=True, default="", db_default="")

    # What intake warned the clerk of (core.duties), on the item intake returns; not a column:
    # the intake's ledger entry keeps it.
    intake_warnings: tuple[str, ...] = ()

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            models.Index(
                fields=["recipient", "state", "received_at"], name="mailitem_recipient_state_recv"
            ),
            models.Index(fields=["state", "received_at"], name="mailitem_state_received"),
            models.Index(fields=["site", "received_at"], name="mailitem_site_received"),
        ]

    def __str__(self) -> str:
        return self.uid

    @property
    def whereabouts(self) -> str:
        """Where the item is now, in words: its location, or how it left the mailroom."""
        gone = GONE_FROM_MAILROOM.get(State(self.state))
        return gone if gone else self.location.name

    @property
    def legally_held(self) -> bool:
        return bool(self.legal_hold_reason)

    @property
    def state_label(self) -> str:
        return State(self.state).label


class SiteMailHold(models.Model):
    """A hold on every item at a site: while it stands, no item there is handed over.

    Placed by an incident's playbook (``ref`` names it, e.g. ``incident:12``) or by hand, and
    lifted only by a release that is recorded; several holds may stand at once.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="mail_holds")
    reason = models.CharField(max_length=300)
    ref = models.CharField(max_length=100, blank=True)
    placed_at = models.DateTimeField()
    placed_by = models.CharField(max_length=150)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=150, blank=True)
    release_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            # One standing hold per cause: placing it twice is refused, not stacked.
            models.UniqueConstraint(
                fields=["site", "ref"],
                condition=models.Q(released_at__isnull=True) & ~models.Q(ref=""),
                name="site_mail_hold_standing_ref",
            )
        ]

    @property
    def active(self) -> bool:
        return self.released_at is None

    def __str__(self) -> str:
        return f"hold {self.pk} on {self.site_id}: {self.reason}"


class ExpectedParcel(models.Model):
    """A parcel a carrier's advance manifest announced, before it reaches the dock.

    Kept apart from :class:`MailItem` on purpose: an item exists from the moment it is in the
    mailroom's hands, and custody's state machine starts there. An expectation is only the
    carrier's word; when a scan at intake carries its tracking number, ``item`` links it to
    the item that arrived.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="expected_parcels")
    tracking_number = models.CharField(max_length=64)
    carrier = models.CharField(max_length=40, blank=True)
    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, related_name="expected_parcels"
    )
    expected_on = models.DateField(null=True, blank=True)
    # Which upload it came from (the file's name and SHA-256 prefix), to tell manifests apart.
    manifest = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=150)
    item = models.OneToOneField(
        MailItem, null=True, blank=True, on_delete=models.PROTECT, related_name="expected"
    )
    arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expected_on", "id"]
        indexes = [models.Index(fields=["tracking_number"], name="expected_tracking")]
        constraints = [
            # One open expectation per number: a scan must match exactly one.
            models.UniqueConstraint(
                fields=["tracking_number"],
                condition=models.Q(arrived_at__isnull=True),
                name="expected_parcel_open_number",
            )
        ]

    def __str__(self) -> str:
        return f"expected {self.tracking_number}"
