"""Console pages of shared machinery: sign-in, two-factor, security policy, and the role check
every console page goes through."""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device

from mailwarden.config import get_settings
from mailwarden.core import clock, plugins, queries, services, signin
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.forms import (
    DeactivateForm,
    LoginForm,
    PersonDetailsForm,
    PersonForm,
    RolesForm,
    SecurityPolicyForm,
    TokenForm,
    TotpForm,
    add_service_error,
)
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_PEOPLE, MANAGE_SECURITY, MANAGE_TOKENS, Role

View = Callable[..., HttpResponse]


# ----------------------------------------------------------------------------- role checks


def actor_of(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "core/forbidden.html", {"message": message}, status=403)


def _to_login(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        # A redirect inside an HTMX swap would paint the sign-in page into a fragment.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("login")
        return response
    return redirect_to_login(request.get_full_path())


def console_page(allowed: Iterable[Role] | None, what: str) -> Callable[[View], View]:
    """Sign-in and role check for a console view; ``allowed=None`` admits anyone signed in.

    The roles come from the same tuples in ``core.roles`` that the services check, so a page is
    shown to exactly the people whose actions on it would be accepted.
    """
    roles = None if allowed is None else tuple(allowed)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return _to_login(request)
            if roles is not None:
                try:
                    require(actor_of(request), roles, what)
                except Forbidden as exc:
                    return forbidden(request, exc.message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def safe_next(request: HttpRequest, default: str = "/") -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


# ----------------------------------------------------------------------------- sign-in


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "/login/"


def client_address(request: HttpRequest) -> str | None:
    """The address django-axes counts failures against: the one the ASGI server settled on.

    That is the connecting address, or the client a trusted proxy names (``security.
    trusted_proxies``, applied by ``serve``); a header sent by anyone else is never read here.
    """
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


def lockout(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes calls this once a name or address has failed too often."""
    minutes = get_settings().security.login_cooloff_minutes
    context = {"minutes": minutes, "address": bool(getattr(request, signin.ADDRESS_PAUSED, False))}
    return render(request, "core/lockout.html", context, status=429)


# ----------------------------------------------------------------------------- two-factor


def _qr_svg(text: str) -> str:
    return segno.make(text, error="m").svg_inline(scale=5, border=2, svgclass="qr")


@console_page(None, "two-factor set-up")
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:  # console_page has sent anyone else to sign in
        return _to_login(request)
    # OTPMiddleware gives the signed-in user is_verified(); the User model does not declare it.
    verified = user.is_verified()  # type: ignore[attr-defined]
    if user_has_device(user) and not verified:
        # Replacing a device must not be a way around the device already enrolled.
        return redirect(with_next("mfa_verify", safe_next(request)))
    if user_has_device(user) and request.method == "GET" and "renew" not in request.GET:
        return render(request, "core/mfa_enrolled.html", {})
    form = TotpForm(request.POST or None)
    device = services.start_totp_enrolment(actor_of(request))
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = services.confirm_totp_enrolment(
                actor_of(request), form.cleaned_data["token"]
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            otp_login(request, confirmed)
            return redirect(safe_next(request))
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "qr": _qr_svg(device.config_url),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "next": safe_next(request, ""),
    }
    return render(request, "core/mfa_setup.html", context, status=400 if form.errors else 200)


@console_page(None, "two-factor sign-in")
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:  # console_page has sent anyone else to sign in
        return _to_login(request)
    if not user_has_device(user):
        return redirect(with_next("mfa_setup", safe_next(request)))
    if user.is_verified():  # type: ignore[attr-defined]  # set by OTPMiddleware, as above
        return redirect(safe_next(request))
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.verify_totp(actor_of(request), form.cleaned_data["token"])
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            otp_login(request, device)
            return redirect(safe_next(request))
    context = {"form": form, "next": safe_next(request, "")}
    return render(request, "core/mfa_verify.html", context, status=400 if form.errors else 200)


# ----------------------------------------------------------------------------- security policy


@console_page(MANAGE_SECURITY, "the security policy")
@require_http_methods(["GET", "POST"])
def security_policy(request: HttpRequest) -> HttpResponse:
    policy = services.mfa_policy()
    form = SecurityPolicyForm(request.POST or None, policy=policy)
    if request.method == "POST" and form.is_valid():
        actor = actor_of(request)
        changed = {role.value: required for role, required in form.changes(policy)}
        try:
            services.set_mfa_policy(actor, changed)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            count = len(changed)
            messages.success(
                request, f"Two-factor policy saved ({count} change{pluralize(count)})."
            )
            return redirect("security_policy")
    rows = [(role, form[role.value]) for role in Role]
    return render(
        request,
        "core/security_policy.html",
        {"form": form, "rows": rows},
        status=400 if form.errors else 200,
    )


# ----------------------------------------------------------------------------- people


def _person_context(
    request: HttpRequest, username: str, **forms_: Any
) -> dict[str, Any] | HttpResponse:
    try:
        person = queries.person(username)
    except ServiceError as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=404)
    details = PersonDetailsForm(
        initial={"first_name": person.first_name, "last_name": person.last_name}
        | {"email": person.email}
    )
    roles = RolesForm(initial={"roles": [r.value for r in person.roles]})
    tokens = queries.tokens(acting_for=username)
    return {
        "person": person,
        "details_form": forms_.get("details_form", details),
        "roles_form": forms_.get("roles_form", roles),
        "tokens": tokens,
        "is_me": username == request.user.get_username(),
    }


@console_page(MANAGE_PEOPLE, "managing people")
@require_http_methods(["GET", "POST"])
def people(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_user(
                actor_of(request),
                data["username"],
                password=data["password"],
                roles=data["roles"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"role": "roles"})
        else:
            messages.success(request, f"{data['username']} can now sign in.")
            return redirect("person", username=data["username"])
    context = {"people": queries.people(), "form": form}
    return render(request, "core/people.html", context, status=400 if form.errors else 200)


@console_page(MANAGE_PEOPLE, "managing people")
@require_http_methods(["GET", "POST"])
def person(request: HttpRequest, username: str) -> HttpResponse:
    forms_: dict[str, Any] = {}
    if request.method == "POST":
        actor = actor_of(request)
        if "roles_submit" in request.POST:
            roles_form = RolesForm(request.POST)
            forms_["roles_form"] = roles_form
            if roles_form.is_valid():
                try:
                    services.set_user_roles(actor, username, roles_form.cleaned_data["roles"])
                except ServiceError as exc:
                    add_service_error(roles_form, exc, {"role": "roles", "username": "roles"})
                else:
                    messages.success(request, f"{username}'s roles are saved.")
                    return redirect("person", username=username)
        else:
            details_form = PersonDetailsForm(request.POST)
            forms_["details_form"] = details_form
            if details_form.is_valid():
                try:
                    services.update_user(actor, username, **details_form.cleaned_data)
                except ServiceError as exc:
                    add_service_error(details_form, exc)
                else:
                    messages.success(request, f"{username}'s details are saved.")
                    return redirect("person", username=username)
    context = _person_context(request, username, **forms_)
    if isinstance(context, HttpResponse):
        return context
    return render(request, "core/person.html", context, status=400 if forms_ else 200)


# What each action on a person does, and what its confirmation page says (None: no page).
PERSON_ACTIONS: dict[str, tuple[str, str | None]] = {
    "deactivate": (
        "Deactivate",
        "They can no longer sign in, and every API token that acts for them is revoked. "
        "Their account and everything the ledger says they did stay.",
    ),
    "reactivate": ("Reactivate", None),
    "reset-mfa": (
        "Reset two-factor sign-in for",
        "Their authenticator app stops working here. If their role needs two-factor sign-in, "
        "they enrol a new app the next time they sign in.",
    ),
    "clear-lockout": ("Clear the sign-in lockout of", None),
}


@console_page(MANAGE_PEOPLE, "managing people")
@require_http_methods(["GET", "POST"])
def person_action(request: HttpRequest, username: str, action: str) -> HttpResponse:
    if action not in PERSON_ACTIONS:
        return render(request, "core/forbidden.html", {"message": "no such action"}, status=404)
    verb, warning = PERSON_ACTIONS[action]
    form = DeactivateForm(request.POST if request.method == "POST" else None)
    confirmed = request.method == "POST" and (warning is None or "confirmed" in request.POST)
    if confirmed and form.is_valid():
        actor = actor_of(request)
        try:
            if action == "deactivate":
                services.deactivate_user(actor, username, form.cleaned_data["reason"])
                done = f"{username} is deactivated; their tokens are revoked."
            elif action == "reactivate":
                services.reactivate_user(actor, username)
                done = f"{username} can sign in again."
            elif action == "reset-mfa":
                services.reset_mfa(actor, username)
                done = f"{username}'s two-factor sign-in is reset."
            else:
                services.clear_lockout(actor, username)
                done = f"{username}'s failed sign-ins are cleared."
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect("person", username=username)
    if warning is None:
        return redirect("person", username=username)
    context = {
        "username": username,
        "verb": verb,
        "warning": warning,
        "form": form,
        "action": action,
        "with_reason": action == "deactivate",
        "cancel": reverse("person", args=[username]),
    }
    return render(request, "core/confirm.html", context)


# ----------------------------------------------------------------------------- API tokens


@console_page(None, "API tokens")
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Administrators see every token and issue device tokens; everyone issues and revokes
    tokens that act for themselves (a token for another person is theirs to issue)."""
    actor = actor_of(request)
    admin = actor.has(*MANAGE_TOKENS)
    form = TokenForm(request.POST or None, devices=admin)
    issued = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mine = data["acts_for"] == TokenForm.FOR_ME
        expires_at = data["expires_at"]
        try:
            if expires_at is not None and expires_at <= clock.now():
                raise ServiceError("must be in the future", "expires_at")
            issued = services.issue_token(
                actor,
                name=data["name"],
                role=data["role"],
                device="" if mine else data["device"].strip(),
                user_id=actor.user_id if mine else None,
                expires_at=expires_at,
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"username": "acts_for"})
        else:
            form = TokenForm(devices=admin)
    tokens = queries.tokens() if admin else queries.tokens(acting_for=actor.name)
    context = {"tokens": tokens, "form": form, "issued": issued, "admin": admin}
    return render(request, "core/api_tokens.html", context, status=400 if form.errors else 200)


@console_page(None, "API tokens")
@require_http_methods(["GET", "POST"])
def api_token_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    if request.method == "POST" and "confirmed" in request.POST:
        try:
            token = services.revoke_token(actor_of(request), prefix)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Token {token.prefix} ({token.name}) is revoked.")
        return redirect("api_tokens")
    context = {
        "username": f"token {prefix}",
        "verb": "Revoke",
        "warning": "Whatever uses it is refused from now on. A revoked token cannot be restored.",
        "form": None,
        "action": "revoke",
        "with_reason": False,
        "cancel": reverse("api_tokens"),
    }
    return render(request, "core/confirm.html", context)


# ----------------------------------------------------------------------------- global search

SEARCH_LIMIT = 10


@console_page(None, "searching")
@require_http_methods(["GET"])
def search(request: HttpRequest) -> HttpResponse:
    """One box for everything: each app finds what the caller may see (core.plugins.search)."""
    # Control characters (NUL, which PostgreSQL refuses) and lone surrogates never match anything.
    raw = "".join(
        c for c in request.GET.get("q", "") if c.isprintable() and not "\ud800" <= c <= "\udfff"
    )
    q = " ".join(raw.split())[:120]
    groups = plugins.search(actor_of(request), q, SEARCH_LIMIT) if q else []
    return render(request, "core/search.html", {"search_q": q, "groups": groups})
