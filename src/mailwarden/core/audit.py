"""Sign-in events on the ledger: who signed in, who failed, and when an account was locked out.

They come from Django's and django-axes's signals, so every sign-in path (console, admin) is
covered without each view remembering to record it.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from mailwarden.core import ledger
from mailwarden.core.actor import Actor


def _client(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _record(actor: Actor, action: str, username: str, request: HttpRequest | None) -> None:
    with transaction.atomic():
        ledger.append(actor, action, "user", username[:64], {"client": _client(request)})


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    _record(Actor.for_user(user), "core.user.signed_in", user.get_username(), request)


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        _record(Actor.for_user(user), "core.user.signed_out", user.get_username(), request)


@receiver(user_login_failed)
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))
    _record(Actor.job("sign-in"), "core.user.sign_in_failed", username, request)


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    _record(Actor.job("sign-in"), "core.user.locked_out", username or "", request)
