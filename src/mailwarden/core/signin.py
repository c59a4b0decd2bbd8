"""A limit on failed sign-ins per client address, beside django-axes's limit per name.

django-axes locks a name tried from one address (``AXES_LOCKOUT_PARAMETERS``) after
``security.login_failure_limit`` failures. That leaves one address free to try any number of
names, a few each. This handler adds a second, higher limit: ``security.
login_failure_limit_per_address`` failures from one address, whatever the names, within the
cool-off period, pause signing in from that address.

The failures are counted in axes's failure log, which a successful sign-in does not reset: a
sign-in to an account of one's own is no way to start the count again.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessFailureLog
from axes.signals import user_locked_out
from django.http import HttpRequest

from mailwarden.config import get_settings

# Set on the request when it is the address, not the name, that is paused; the lockout page says so.
ADDRESS_PAUSED = "mw_signin_address_paused"


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from the request's client address within the cool-off period."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    since = get_cool_off_threshold(request)
    return AccessFailureLog.objects.filter(ip_address=address, attempt_time__gte=since).count()


def _address_paused(request: HttpRequest) -> bool:
    limit = get_settings().security.login_failure_limit_per_address
    paused = address_failures(request) >= limit
    if paused:
        setattr(request, ADDRESS_PAUSED, True)
    return paused


class AddressLimitedHandler(AxesDatabaseHandler):  # type: ignore[misc]  # axes is untyped
    """axes's database handler, which also pauses an address with too many failures."""

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        return bool(super().is_locked(request, credentials)) or _address_paused(request)

    def user_login_failed(
        self,
        sender: Any,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if _address_paused(request):
            # As axes does when a name reaches its limit: this response is the lockout page.
            request.axes_locked_out = True  # type: ignore[attr-defined]
            request.axes_credentials = credentials  # type: ignore[attr-defined]
            user_locked_out.send(
                "axes",
                request=request,
                username=credentials.get("username"),
                ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
            )
