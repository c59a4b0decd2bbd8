"""Sends signed-in people whose role requires two-factor sign-in to the TOTP step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp import user_has_device

from mailwarden.core.roles import roles_of
from mailwarden.core.services import mfa_required_for
from mailwarden.core.views import with_next

# Pages a half-signed-in person must still reach: the two-factor steps themselves, signing out,
# assets, and probes.
_OPEN_PREFIXES = ("/mfa/", "/login/", "/logout/", "/static/", "/livez", "/readyz", "/metrics")


class MfaRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The API answers for itself (server/api.py asks mfa_pending), and most API calls carry
        # a token, not a session: leaving request.user unread spares them the session lookup.
        if request.path.startswith("/api/"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not mfa_pending(user):
            return self.get_response(request)
        if request.path.startswith(_OPEN_PREFIXES):
            return self.get_response(request)
        has_device = user_has_device(user)
        target = with_next("mfa_verify" if has_device else "mfa_setup", request.get_full_path())
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)


def mfa_pending(user: Any) -> bool:
    """Whether a signed-in person still owes their second factor in this session."""
    # Someone who enrolled a device of their own accord is asked for it too: a second factor
    # that can be skipped protects nothing.
    if user.is_verified():
        return False
    return user_has_device(user) or mfa_required_for(roles_of(user))
