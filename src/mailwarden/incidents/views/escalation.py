"""The on-call console: escalations paging now with their acknowledge button, who is on call on
each schedule (with a picture of the next 7 days), the policies and schedules for security
managers, and the one-click acknowledgement page a paged person reaches from a message's link.

Views read :mod:`mailwarden.incidents.queries` and change nothing themselves: every change goes
through :mod:`mailwarden.incidents.services.escalation` (docs/architecture.md rule 1).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.views import actor_of, console_page
from mailwarden.incidents.forms.escalation import (
    OverrideForm,
    PolicyForm,
    ScheduleForm,
    policy_initial,
)
from mailwarden.incidents.models import (
    Escalation,
    EscalationState,
    OnCallSchedule,
)
from mailwarden.incidents.queries import escalation as queries
from mailwarden.incidents.services import escalation as services

WEEK = timedelta(days=7)
PICTURE_WIDTH = 700
PALETTE = 6


def _picture(schedule: OnCallSchedule, now: datetime, names: dict[int, str]) -> dict[str, Any]:
    """The next 7 days of a schedule as bars for an SVG: x and width in picture units."""
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    found = queries.shifts(schedule, now, now + WEEK)
    colours: dict[int, int] = {}
    bars = []
    for shift in found:
        x = (shift.starts_at - now) / WEEK * PICTURE_WIDTH
        width = (shift.ends_at - shift.starts_at) / WEEK * PICTURE_WIDTH
        name = names.get(shift.user_id, "?") if shift.user_id else "nobody"
        colour = (
            "nobody"
            if shift.user_id is None
            else f"who-{colours.setdefault(shift.user_id, len(colours) % PALETTE)}"
        )
        start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
        bars.append(
            {
                "x": f"{x:.2f}",
                "width": f"{max(width, 0.5):.2f}",
                "text_x": f"{x + 3:.2f}",
                "label": name if width > 40 else "",
                "title": f"{name}: {start:%a %d %b %H:%M} to {end:%a %d %b %H:%M} "
                f"({shift.source or 'no rotation'})",
                "colour": colour,
            }
        )
    days = []
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    while midnight < now + WEEK:
        x = (midnight - now) / WEEK * PICTURE_WIDTH
        days.append({"x": f"{x:.2f}", "label": f"{midnight:%a %d}"})
        midnight = datetime.combine(midnight.date() + timedelta(days=1), datetime.min.time(), zone)
    return {"bars": bars, "days": days, "width": PICTURE_WIDTH}


def _can_ack(actor: Actor, escalation: Escalation, paged: set[int]) -> bool:
    if escalation.state != EscalationState.ACTIVE:
        return False
    return actor.has(*services.HANDLE_ESCALATIONS) or actor.user_id in paged


@console_page(services.VIEW_ESCALATION, "the on-call page")
@require_http_methods(["GET"])
def oncall(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    now = clock.now()
    escalations = queries.recent_escalations()
    rows = []
    for escalation in escalations:
        paged = queries.paged_user_ids(escalation)
        pages = list(escalation.pages.filter(level=escalation.level, round=escalation.round))
        acks = list(escalation.acks.filter(level=escalation.level, round=escalation.round))
        rows.append(
            {
                "e": escalation,
                "pages": pages,
                "acks": acks,
                "can_ack": _can_ack(actor, escalation, paged),
            }
        )
    schedules = list(queries.schedules())
    cards = []
    for schedule in schedules:
        current, following = queries.current_and_next(schedule, now)
        ids = {s.user_id for s in queries.shifts(schedule, now, now + WEEK) if s.user_id}
        names = {pk: u.get_username() for pk, u in queries.users_by_id(ids).items()}
        cards.append(
            {
                "schedule": schedule,
                "current": current,
                "current_name": names.get(current.user_id) if current and current.user_id else None,
                "next": following,
                "next_name": names.get(following.user_id)
                if following and following.user_id
                else None,
                "picture": _picture(schedule, now, names),
            }
        )
    return render(
        request,
        "incidents/escalation/oncall.html",
        {
            "rows": rows,
            "cards": cards,
            "now": now,
            "can_manage": actor.has(*services.MANAGE_ESCALATION),
        },
    )


@console_page(None, "acknowledging a page")
@require_POST
def acknowledge(request: HttpRequest, escalation_id: int) -> HttpResponse:
    try:
        result = services.acknowledge(actor_of(request), escalation_id)
    except ServiceError as exc:
        messages.error(request, f"Not acknowledged: {exc.message}.")
    else:
        if result.stopped:
            messages.success(
                request, f"Acknowledged: paging stopped for {result.escalation.title}."
            )
        else:
            messages.success(
                request,
                f"Acknowledged ({result.count} of {result.needed} needed): still paging for "
                f"{result.escalation.title}.",
            )
    return redirect("incidents:oncall")


# ----------------------------------------------------------------------------- one-click link


@require_http_methods(["GET", "POST"])
def ack_link(request: HttpRequest, token: str) -> HttpResponse:
    """Reached from an email or SMS without signing in: the page names the page about to be
    acknowledged, and its one button acknowledges it as the person the link was sent to. A GET
    changes nothing, so a mail scanner that opens links cannot acknowledge for anyone."""
    context: dict[str, Any] = {"token": token}
    try:
        escalation_id, _ = services.read_ack_token(token)
    except ServiceError as exc:
        context["error"] = exc.message
        return render(request, "incidents/escalation/ack_link.html", context, status=400)
    escalation = (
        Escalation.objects.select_related("site", "incident").filter(pk=escalation_id).first()
    )
    if escalation is None:
        raise Http404("no such page")
    context["escalation"] = escalation
    if request.method == "POST":
        try:
            result = services.acknowledge_by_link(token)
        except ServiceError as exc:
            context["error"] = exc.message
            return render(request, "incidents/escalation/ack_link.html", context, status=409)
        context["result"] = result
        context["escalation"] = result.escalation
    return render(request, "incidents/escalation/ack_link.html", context)


# ----------------------------------------------------------------------------- policies


def _apply_error(form: forms.Form, field: str | None, message: str) -> None:
    form.add_error(field if field in form.fields else None, message)


@console_page(services.VIEW_ESCALATION, "escalation policies")
@require_http_methods(["GET", "POST"])
def policies(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_manage = actor.has(*services.MANAGE_ESCALATION)
    form = PolicyForm()
    if request.method == "POST":
        if not can_manage:
            return render(
                request,
                "core/forbidden.html",
                {"message": "changing escalation policies needs the security manager role"},
                status=403,
            )
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                policy = services.create_policy(actor, form.request())
            except ServiceError as exc:
                _apply_error(form, form.field_for(exc.field), exc.message)
            else:
                messages.success(request, f"Policy {policy.name} added.")
                return redirect("incidents:escalation_policies")
    return render(
        request,
        "incidents/escalation/policies.html",
        {"policies": list(queries.policies()), "form": form, "can_manage": can_manage},
        status=400 if form.errors else 200,
    )


@console_page(services.MANAGE_ESCALATION, "changing escalation policies")
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = queries.policies().filter(pk=policy_id).first()
    if policy is None:
        raise Http404("no such policy")
    form = PolicyForm(initial=policy_initial(policy))
    if request.method == "POST":
        if request.POST.get("delete"):
            try:
                services.delete_policy(actor_of(request), policy_id)
            except ServiceError as exc:
                messages.error(request, f"Not removed: {exc.message}.")
                return redirect("incidents:escalation_policy", policy_id=policy_id)
            messages.success(request, f"Policy {policy.name} removed.")
            return redirect("incidents:escalation_policies")
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                services.update_policy(actor_of(request), policy_id, form.request())
            except ServiceError as exc:
                _apply_error(form, form.field_for(exc.field), exc.message)
            else:
                messages.success(request, f"Policy {form.cleaned_data['name']} saved.")
                return redirect("incidents:escalation_policies")
    return render(
        request,
        "incidents/escalation/policy_edit.html",
        {"policy": policy, "form": form},
        status=400 if form.errors else 200,
    )


# ----------------------------------------------------------------------------- schedules


def _schedule_initial(schedule: OnCallSchedule) -> dict[str, Any]:
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    names = queries.users_by_id([m for layer in schedule.layers.all() for m in layer.members])
    initial: dict[str, Any] = {
        "name": schedule.name,
        "timezone": schedule.timezone,
        "description": schedule.description,
    }
    for n, layer in enumerate(schedule.layers.order_by("position"), start=1):
        initial[f"layer{n}_name"] = layer.name
        initial[f"layer{n}_kind"] = layer.kind
        initial[f"layer{n}_hours"] = layer.length_hours
        initial[f"layer{n}_starts"] = layer.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        initial[f"layer{n}_members"] = ", ".join(
            names[m].get_username() for m in layer.members if m in names
        )
    return initial


@console_page(services.VIEW_ESCALATION, "on-call schedules")
@require_http_methods(["GET", "POST"])
def schedules(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_manage = actor.has(*services.MANAGE_ESCALATION)
    form = ScheduleForm()
    if request.method == "POST":
        if not can_manage:
            return render(
                request,
                "core/forbidden.html",
                {"message": "changing on-call schedules needs the security manager role"},
                status=403,
            )
        form = ScheduleForm(request.POST)
        if form.is_valid():
            try:
                schedule = services.create_schedule(actor, form.request())
            except ServiceError as exc:
                _apply_error(form, form.field_for(exc.field), exc.message)
            else:
                messages.success(request, f"Schedule {schedule.name} added.")
                return redirect("incidents:escalation_schedule", schedule_id=schedule.pk)
    return render(
        request,
        "incidents/escalation/schedules.html",
        {"schedules": list(queries.schedules()), "form": form, "can_manage": can_manage},
        status=400 if form.errors else 200,
    )


@console_page(services.MANAGE_ESCALATION, "changing on-call schedules")
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = queries.schedules().filter(pk=schedule_id).first()
    if schedule is None:
        raise Http404("no such schedule")
    actor = actor_of(request)
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    form = ScheduleForm(initial=_schedule_initial(schedule))
    override_form = OverrideForm()
    if request.method == "POST":
        wanted = request.POST.get("action", "save")
        try:
            if wanted == "delete":
                services.delete_schedule(actor, schedule_id)
                messages.success(request, f"Schedule {schedule.name} removed.")
                return redirect("incidents:escalation_schedules")
            if wanted == "remove_override":
                services.delete_override(actor, int(request.POST.get("override_id") or 0))
                messages.success(request, "Override removed.")
                return redirect("incidents:escalation_schedule", schedule_id=schedule_id)
        except ServiceError as exc:
            messages.error(request, f"Not done: {exc.message}.")
            return redirect("incidents:escalation_schedule", schedule_id=schedule_id)
        if wanted == "override":
            override_form = OverrideForm(request.POST)
            if override_form.is_valid():
                try:
                    services.add_override(actor, schedule_id, override_form.request(zone))
                except forms.ValidationError as exc:
                    override_form.add_error("username", exc)
                except ServiceError as exc:
                    field = {"user_id": "username"}.get(exc.field or "", exc.field)
                    _apply_error(override_form, field, exc.message)
                else:
                    messages.success(request, "Override added.")
                    return redirect("incidents:escalation_schedule", schedule_id=schedule_id)
        else:
            form = ScheduleForm(request.POST)
            if form.is_valid():
                try:
                    services.update_schedule(actor, schedule_id, form.request())
                except ServiceError as exc:
                    _apply_error(form, form.field_for(exc.field), exc.message)
                else:
                    messages.success(request, f"Schedule {form.cleaned_data['name']} saved.")
                    return redirect("incidents:escalation_schedule", schedule_id=schedule_id)
    overrides = list(schedule.overrides.select_related("user").order_by("starts_at"))
    return render(
        request,
        "incidents/escalation/schedule_edit.html",
        {
            "schedule": schedule,
            "form": form,
            "override_form": override_form,
            "overrides": overrides,
        },
        status=400 if form.errors or override_form.errors else 200,
    )
