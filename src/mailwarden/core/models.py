"""Shared tables: the hash-chained ledger, the transactional outbox and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LedgerHead(models.Model):
    """A single row holding the chain's tip. Appenders lock it, so the chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)


class LedgerEntry(models.Model):
    """One append-only entry. ``body`` is the canonical JSON that ``hash`` covers.

    The other columns are copies of fields in ``body`` so entries can be queried; verification
    checks that they still agree with it.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=80, db_index=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=255)
    body = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "seq"])]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject_type}:{self.subject_id}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change that caused it."""

    key = models.CharField(max_length=100, unique=True)
    topic = models.CharField(max_length=80, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.topic} {self.key} ({self.status})"


class ApiToken(models.Model):
    """A bearer token for a person's script or for a device. Only a hash of the secret is kept."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=40)
    device = models.CharField(max_length=100, blank=True)
    # The person the token acts for. A person is deactivated, never deleted, so their tokens and
    # their history stay (PROTECT refuses a delete that would take the tokens with it).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    # Who issued it; for a token that acts for a person, that person (core.services.issue_token).
    # Empty on tokens issued before this was recorded.
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_tokens",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    WITHDRAWN = "withdrawn"  # no longer true by the time of a retry; never sent


class Notification(models.Model):
    """A message to a person. Kept until sent; failed sends are retried with backoff."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=30)
    channel = models.CharField(max_length=20, default="email")
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    subject_ref = models.CharField(max_length=80, blank=True, db_index=True)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address} ({self.status})"


class RolePolicy(models.Model):
    """Per-role security policy that security managers edit in the console."""

    role = models.CharField(max_length=40, unique=True)
    mfa_required = models.BooleanField(default=False)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"{self.role}: mfa {'required' if self.mfa_required else 'optional'}"


class LedgerTree(models.Model):
    """A single row: how many entries the Merkle tree's tiles (``LedgerTile``) cover.

    The tiles are a cache that makes checkpoints and proofs cheap. Nothing trusts them: a
    checkpoint is signed only once they hash up to the previous signed checkpoint, a proof is
    checked against the signed root, and ``ledger verify`` rebuilds the tree from the entries.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)


class LedgerTile(models.Model):
    """Up to 256 concatenated 32-byte hashes of one level of the ledger's Merkle tree
    (``core.merkle``): level 0 holds leaf hashes, level L the roots of 256**L-leaf subtrees."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hashes = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "index"], name="core_ledgertile_unique")
        ]

    def __str__(self) -> str:
        return f"tile {self.level}/{self.index}"


class Lease(models.Model):
    """A named duty only one process may hold at a time, such as running background work.

    The holder renews it well before ``expires_at``; a process that dies stops renewing, and
    another takes the lease over once it has expired (``core.leases``).
    """

    name = models.CharField(max_length=60, primary_key=True)
    holder = models.CharField(max_length=120)
    taken_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
