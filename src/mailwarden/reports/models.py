"""The reports app keeps one table: which weekly summaries went out, so each goes once."""

from __future__ import annotations

from django.db import models

from mailwarden.directory.models import Site


class WeeklySummary(models.Model):
    """A site's weekly summary, queued by email to its managers for the week from Monday
    ``week_start``. The unique pair is what makes the weekly job idempotent."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="weekly_summaries")
    week_start = models.DateField()
    sent_at = models.DateTimeField()
    recipients = models.JSONField(default=list)  # the usernames it was queued for

    class Meta:
        ordering = ["-week_start", "site_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "week_start"], name="weekly_summary_once")
        ]

    def __str__(self) -> str:
        return f"weekly summary {self.site_id} {self.week_start}"
