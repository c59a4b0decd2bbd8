"""Site-wide messages (evacuate, shelter in place, avoid the area, all clear) and their roll
call: who at the site said they are safe, who needs help, and who has not answered yet.

Each person a message went to has one :class:`RollCallAnswer` row from the moment it is sent
(``answer`` empty until they answer), so the board counts the people the message actually
reached, even when someone moves to another site afterwards.
"""

from __future__ import annotations

from django.db import models

from mailwarden.directory.models import Recipient, Site
from mailwarden.incidents.models.incidents import Incident


class BroadcastKind(models.TextChoices):
    EVACUATE = "evacuate", "Evacuate"
    SHELTER = "shelter", "Shelter in place"
    AVOID = "avoid", "Avoid the area"
    ALL_CLEAR = "all_clear", "All clear"


class Answer(models.TextChoices):
    NONE = "", "No answer"
    SAFE = "safe", "Safe"
    NEED_HELP = "need_help", "Need help"


class Broadcast(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="broadcasts")
    kind = models.CharField(max_length=20, choices=BroadcastKind.choices)
    headline = models.CharField(max_length=120)
    text = models.TextField()
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="broadcasts"
    )
    exercise = models.BooleanField(default=False)
    sent_at = models.DateTimeField()
    sent_by = models.CharField(max_length=150)
    # How many people it went to and how many messages (people times channels) in round 1.
    recipients = models.PositiveIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)
    # Re-sending to those who have not answered: every ``resend_minutes`` (0: never by itself),
    # at most ``max_rounds`` rounds counting the first.
    resend_minutes = models.PositiveIntegerField(default=10)
    max_rounds = models.PositiveSmallIntegerField(default=3)
    rounds = models.PositiveSmallIntegerField(default=1)
    last_round_at = models.DateTimeField()
    # When the roll call stopped taking answers early (a later message or by hand); links expire
    # by themselves too.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["closed_at", "last_round_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.site.code}: {self.headline}"

    @property
    def has_roll_call(self) -> bool:
        return self.kind != BroadcastKind.ALL_CLEAR

    @property
    def ref(self) -> str:
        return f"broadcast:{self.pk}"


class RollCallAnswer(models.Model):
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="answers")
    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, related_name="roll_call_answers"
    )
    answer = models.CharField(max_length=10, choices=Answer.choices, blank=True, default="")
    note = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=120, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # The channel of the message whose link was followed (email, sms, inapp).
    via = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "recipient"], name="one_answer_per_person")
        ]
        indexes = [models.Index(fields=["broadcast", "answer"])]

    def __str__(self) -> str:
        return f"{self.recipient_id} on {self.broadcast_id}: {self.answer or 'no answer'}"
