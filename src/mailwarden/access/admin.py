"""Read-only admin pages for access data.

Changes go through the services (docs/architecture.md rule 1): the ledger, the outbox and the rules
version must move with every change, which the admin's own forms would skip.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from mailwarden.access import models


class ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(models.AccessController)
class ControllerAdmin(ReadOnly):
    list_display = ("name", "site", "fail_mode", "last_seen_at", "token_prefix")
    # The sync secret signs the controller's rules; it is never shown after enrolment.
    exclude = ("sync_secret",)


@admin.register(models.Door)
class DoorAdmin(ReadOnly):
    list_display = ("code", "name", "site", "location", "mode", "fail_mode")
    list_filter = ("site", "mode")


@admin.register(models.Reader)
class ReaderAdmin(ReadOnly):
    list_display = ("code", "controller", "door", "osdp_address", "direction")


@admin.register(models.Cardholder)
class CardholderAdmin(ReadOnly):
    list_display = ("name", "kind", "recipient", "user", "company")
    search_fields = ("name", "company")


@admin.register(models.Credential)
class CredentialAdmin(ReadOnly):
    list_display = ("__str__", "holder", "kind", "valid_until", "revoked_at")
    list_filter = ("kind", "format")
    exclude = ("pin_hash",)


@admin.register(models.AccessLevel)
class LevelAdmin(ReadOnly):
    list_display = ("name", "site", "schedule")


@admin.register(models.Schedule)
class ScheduleAdmin(ReadOnly):
    list_display = ("name", "site")


@admin.register(models.Holiday)
class HolidayAdmin(ReadOnly):
    list_display = ("date", "name", "site")


@admin.register(models.AntiPassbackArea)
class AreaAdmin(ReadOnly):
    list_display = ("code", "site", "mode", "reentry_s")


@admin.register(models.SiteRules)
class SiteRulesAdmin(ReadOnly):
    list_display = ("site", "version", "lockdown", "lockdown_at", "lockdown_by")


@admin.register(models.RulePublication)
class PublicationAdmin(ReadOnly):
    list_display = ("controller", "version", "site_version", "content_hash", "created_at")
    exclude = ("snapshot",)


@admin.register(models.AccessEvent)
class EventAdmin(ReadOnly):
    list_display = ("occurred_at", "type", "door", "reader_ref", "cardholder", "granted", "reason")
    list_filter = ("type", "granted", "site")
    date_hierarchy = "occurred_at"


@admin.register(models.AccessAlarm)
class AlarmAdmin(ReadOnly):
    list_display = ("raised_at", "kind", "site", "door", "reader", "cleared_at", "acknowledged_at")
    list_filter = ("kind", "site")
