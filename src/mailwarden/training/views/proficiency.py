"""Console pages: screener proficiency (every screener, and one screener with plots) and each
site's live threat image projection settings.

Managers and auditors see everyone; a screener may open their own page. The TIP settings page
shows to the same people, and only security managers may change it (the service checks again).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods

from mailwarden.core import clock
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.directory.models import Site
from mailwarden.training import proficiency_plots as plots
from mailwarden.training.permissions import LEARN, MANAGE_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.queries import proficiency as queries
from mailwarden.training.services import tip_live
from mailwarden.xray.tip import CATEGORIES

# The periods the pages offer, in days; 0 is every answer ever given.
PERIODS = ((0, "All time"), (7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"))
# d′ of 1.5 is the usual screener certificate's bar; 4 is near perfect at these trial counts.
DPRIME_TOP = 4.0


def _since(request: HttpRequest) -> tuple[int, datetime | None]:
    raw = request.GET.get("days", "0")
    days = int(raw) if raw.isdigit() and int(raw) in dict(PERIODS) else 0
    return days, (clock.now() - timedelta(days=days) if days else None)


@console_page(VIEW_COMPLIANCE, "screener proficiency")
@require_GET
def proficiency(request: HttpRequest) -> HttpResponse:
    days, since = _since(request)
    rows = queries.screeners(since)
    context = {
        "rows": rows,
        "periods": PERIODS,
        "days": days,
        "no_trials": queries.NO_TRIALS,
        "can_manage": actor_of(request).has(*MANAGE_TRAINING),
    }
    return render(request, "training/proficiency_list.html", context)


def _fmt_dprime(value: float) -> str:
    return f"{value:.2f}"


def _fmt_rate(value: float) -> str:
    return f"{value:.0%}"


def _trials_note(count: int) -> str:
    return f"{count} trial{'s' if count != 1 else ''}" if count else queries.NO_TRIALS


def _plots(detail: queries.ScreenerDetail) -> dict[str, Any]:
    weeks = [(w.week.strftime("%d %b"), w.proficiency) for w in detail.weeks]
    dprime_line = plots.line_chart(
        "d′ by week",
        [(label, p.measures.dprime) for label, p in weeks],
        lo=0.0,
        hi=DPRIME_TOP,
        fmt=_fmt_dprime,
        grow=True,
    )
    hit_line = plots.line_chart(
        "Hit rate by week",
        [(label, p.measures.hit_rate) for label, p in weeks],
        lo=0.0,
        hi=1.0,
        fmt=_fmt_rate,
    )
    dprime_bars = plots.bars(
        [
            (
                c.category,
                c.proficiency.measures.dprime,
                _trials_note(c.proficiency.trials)
                if c.proficiency.measures.dprime is not None or not c.proficiency.trials
                else "needs both threat and clean images",
            )
            for c in detail.categories
        ],
        hi=DPRIME_TOP,
        fmt=_fmt_dprime,
    )
    hit_bars = plots.bars(
        [
            (
                c.category,
                c.proficiency.measures.hit_rate,
                f"{c.proficiency.measures.hits} of {c.proficiency.measures.signal_trials}"
                if c.proficiency.measures.signal_trials
                else "no threat images yet",
            )
            for c in detail.categories
        ],
        hi=1.0,
        fmt=_fmt_rate,
    )
    return {
        "lines": [dprime_line, hit_line],
        "dprime_bars": dprime_bars,
        "hit_bars": hit_bars,
    }


@console_page(LEARN, "a screener's proficiency")
@require_GET
def screener(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = actor_of(request)
    if not actor.has(*VIEW_COMPLIANCE) and actor.user_id != user_id:
        return forbidden(
            request, "another screener's proficiency needs the security manager or auditor role"
        )
    days, since = _since(request)
    try:
        detail = queries.screener(user_id, since)
    except NotFound as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=404)
    context = {
        "detail": detail,
        "row": detail.row,
        "measures": detail.row.proficiency.measures,
        "periods": PERIODS,
        "days": days,
        "no_trials": queries.NO_TRIALS,
        "can_list": actor.has(*VIEW_COMPLIANCE),
        **_plots(detail),
    }
    return render(request, "training/proficiency_screener.html", context)


# ----------------------------------------------------------------------------- live TIP


class TipPolicyForm(forms.Form):
    site = forms.CharField(max_length=20)
    enabled = forms.BooleanField(required=False, label="Project test images at this site")
    rate_percent = forms.FloatField(
        label="Share of opened items (%)",
        help_text=f"0 to {tip_live.MAX_RATE_PERCENT:g} %; a few percent is usual.",
    )
    categories = forms.MultipleChoiceField(
        choices=[(c, c.upper() if c == "ied" else c.capitalize()) for c in CATEGORIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every category.",
    )


def _policy_rows(
    sites: list[Site], bound: TipPolicyForm | None
) -> list[tuple[tip_live.SiteSettings, TipPolicyForm]]:
    rows = []
    for site in sites:
        current = tip_live.settings_of(site.code)
        if bound is not None and bound.data.get("site") == site.code:
            form = bound
        else:
            form = TipPolicyForm(
                initial={
                    "site": site.code,
                    "enabled": current.enabled,
                    "rate_percent": current.rate_percent if current.updated_by else 3.0,
                    "categories": current.categories,
                },
                auto_id=f"tip-{site.code}-%s",
            )
        rows.append((current, form))
    return rows


@console_page(VIEW_COMPLIANCE, "live TIP settings")
@require_http_methods(["GET", "POST"])
def tip_policy(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_edit = actor.has(*MANAGE_TRAINING)
    sites = list(Site.objects.order_by("code"))
    bound: TipPolicyForm | None = None
    status = 200
    if request.method == "POST":
        if not can_edit:
            return forbidden(request, "changing live TIP settings needs the security manager role")
        code = request.POST.get("site", "")
        # One form per site on the page, told apart by their ids only.
        bound = TipPolicyForm(request.POST, auto_id=f"tip-{code}-%s")
        status = 400
        if bound.is_valid():
            data = bound.cleaned_data
            try:
                saved = tip_live.set_policy(
                    actor,
                    data["site"],
                    enabled=data["enabled"],
                    rate_percent=data["rate_percent"],
                    categories=data["categories"],
                )
            except ServiceError as exc:
                add_service_error(bound, exc, aliases={"site": "site"})
                status = exc.status
            else:
                state = f"on, {saved.rate_percent:g} % of opened items" if saved.enabled else "off"
                messages.success(request, f"Live TIP at {saved.site_name} is {state}.")
                return redirect("training:tip_policy")
    context = {
        "rows": _policy_rows(sites, bound),
        "can_edit": can_edit,
        "max_rate": tip_live.MAX_RATE_PERCENT,
    }
    return render(request, "training/proficiency_tip_policy.html", context, status=status)


urls: list[URLPattern] = [
    path("proficiency/", proficiency, name="proficiency"),
    path("proficiency/<int:user_id>/", screener, name="screener"),
    path("tip-policy/", tip_policy, name="tip_policy"),
]
