"""Django's ``/admin/``, read-only for every model, whoever registered it.

Every change to people, roles, tokens, lockouts and two-factor devices goes through the services
in ``core.services`` and onto the ledger (docs/architecture.md rule 1), so the admin's own forms,
which would skip both, are switched off here for every model: Django's, django-axes's, and each
app's. Two-factor devices are not shown at all, because a device's key would let whoever reads it
make that person's codes. The console's People and API tokens pages make the changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db.models import Model
from django.http import HttpRequest

# The apps whose models hold two-factor secrets.
HIDDEN_APPS = frozenset({"otp_totp", "otp_static", "otp_email", "otp_hotp"})


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Mixed into every registered ``ModelAdmin``: it may show, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk actions (delete, django-axes's resets) change data; none is offered.
        return {}


class ReadOnlyAdminSite(admin.AdminSite):
    site_header = "mailwarden (read-only)"

    def register(
        self,
        model_or_iterable: type[Model] | Iterable[type[Model]],
        admin_class: type[admin.ModelAdmin[Any]] | None = None,
        **options: Any,
    ) -> None:
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        shown = [m for m in models if m._meta.app_label not in HIDDEN_APPS]
        if not shown:
            return
        base = admin_class or admin.ModelAdmin
        read_only = type(
            f"ReadOnly{base.__name__}", (ReadOnlyAdmin, base), {"__module__": __name__}
        )
        super().register(shown, read_only, **options)


class ReadOnlyAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`ReadOnlyAdminSite` as its site."""

    default_site = "mailwarden.core.admin_site.ReadOnlyAdminSite"
