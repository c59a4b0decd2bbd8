"""Screener training by TIP in the console: start or resume a session, answer its images one by
one (mark the threat or clear the bag) with feedback after each, and a summary at the end."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from mailwarden.core import media
from mailwarden.core.errors import ServiceError
from mailwarden.core.views import actor_of, console_page
from mailwarden.training.models import TipOutcome, TipSession, TipTrial
from mailwarden.training.permissions import TIP_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.queries import tip as queries
from mailwarden.training.services import tip as services
from mailwarden.training.services.tip_images import LEVELS
from mailwarden.xray.tip import CATEGORIES

SIZES = (10, 20, 40)
DEFAULT_SIZE = 20
# The image never changes once made (it is named by its hash), so the browser may keep it.
IMMUTABLE = "private, max-age=86400, immutable"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def measures_rows(m: Any) -> list[tuple[str, str]]:
    return [
        ("Threat images found", f"{m.hits} of {m.signal_trials} ({_percent(m.hit_rate)})"),
        (
            "Clean images flagged",
            f"{m.false_alarms} of {m.noise_trials} ({_percent(m.false_alarm_rate)})",
        ),
        ("d′", _number(m.dprime)),
        ("Criterion c", _number(m.criterion)),
        ("A′", _number(m.a_prime)),
    ]


@require_http_methods(["GET", "POST"])
@console_page(TIP_TRAINING, "TIP training")
def start(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    errors: dict[str, str] = {}
    chosen = list(CATEGORIES)
    size = DEFAULT_SIZE
    if request.method == "POST":
        chosen = [c for c in request.POST.getlist("categories") if c]
        try:
            size = int(request.POST.get("size") or DEFAULT_SIZE)
            session = services.start_session(actor, size=size, categories=chosen or None)
        except ValueError:
            errors["size"] = "must be a whole number of images"
        except ServiceError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            return redirect("training:tip_session", session.pk)
    user_id = actor.user_id or 0
    measures = queries.screener_measures(user_id)
    current = services.open_session(actor)
    recent = TipSession.objects.filter(user_id=user_id, finished_at__isnull=False)[:5]
    return render(
        request,
        "training/tip_start.html",
        {
            "mw_section": "training:tip",
            "current": current,
            "current_answered": current.trials.exclude(outcome="").count() if current else 0,
            "sizes": SIZES,
            "size": size,
            "categories": [(c, c in chosen) for c in CATEGORIES],
            "levels": services.levels_of(user_id),
            "max_level": LEVELS,
            "measures": measures,
            "measure_rows": measures_rows(measures),
            "recent": [(s, queries.session_summary(s)) for s in recent],
            "errors": errors,
        },
        status=400 if errors else 200,
    )


def _session_or_404(request: HttpRequest, session_id: int) -> TipSession:
    session = TipSession.objects.filter(
        pk=session_id, user_id=actor_of(request).user_id or 0
    ).first()
    if session is None:
        raise Http404("no such session of yours")
    return session


def _bars(summary: queries.SessionSummary) -> list[dict[str, Any]]:
    return [
        {
            "category": category,
            "hits": hits,
            "shown": shown,
            "percent": round(100 * hits / shown) if shown else 0,
        }
        for category, (hits, shown) in summary.by_category.items()
    ]


def _radius(trial: TipTrial) -> int:
    return max(6, round(0.015 * max(trial.width, trial.height)))


def _feedback(trial: TipTrial) -> dict[str, Any]:
    outcome = TipOutcome(trial.outcome)
    mark = trial.mark if isinstance(trial.mark, list) and len(trial.mark) == 2 else None
    box = None
    if trial.bbox:
        x0, y0, x1, y1 = trial.bbox
        box = {
            "x": x0 * trial.width,
            "y": y0 * trial.height,
            "w": (x1 - x0) * trial.width,
            "h": (y1 - y0) * trial.height,
        }
    return {
        "outcome": outcome.value,
        "label": outcome.label,
        "correct": outcome in (TipOutcome.HIT, TipOutcome.CORRECT_REJECTION),
        "message": services.feedback_message(trial),
        "box": box,
        "mark": (
            {"x": mark[0] * trial.width, "y": mark[1] * trial.height, "r": _radius(trial)}
            if mark
            else None
        ),
    }


@require_http_methods(["GET", "POST"])
@console_page(TIP_TRAINING, "TIP training")
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    actor = actor_of(request)
    session = _session_or_404(request, session_id)
    error = ""
    if request.method == "POST":
        try:
            trial_id = int(request.POST.get("trial") or 0)
            mark = None
            if request.POST.get("mark_x") and request.POST.get("mark_y"):
                mark = (float(request.POST["mark_x"]), float(request.POST["mark_y"]))
            ms = request.POST.get("response_ms")
            feedback = services.answer(
                actor,
                trial_id,
                response=request.POST.get("response", ""),
                mark=mark,
                response_ms=int(float(ms)) if ms else None,
            )
        except ValueError:
            error = "The answer could not be read; mark the image again or clear it."
        except ServiceError as exc:
            error = exc.message
        else:
            url = reverse("training:tip_session", args=[session.pk])
            return redirect(f"{url}?answered={feedback.trial.pk}")
    context: dict[str, Any] = {
        "mw_section": "training:tip",
        "session": session,
        "error": error,
        "max_level": LEVELS,
    }
    answered_id = request.GET.get("answered", "")
    shown = (
        session.trials.exclude(outcome="").filter(pk=int(answered_id)).first()
        if answered_id.isdigit()
        else None
    )
    if shown is not None:
        context.update(trial=shown, feedback=_feedback(shown))
    else:
        try:
            trial = services.current_trial(actor, session.pk)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("training:tip")
        context["trial"] = trial
    answered = session.trials.exclude(outcome="").count()
    session.refresh_from_db()
    context["answered"] = answered
    context["done"] = session.finished_at is not None
    if context["done"] and shown is None:
        summary = queries.session_summary(session)
        context.update(
            summary=summary,
            summary_rows=measures_rows(summary.measures),
            bars=_bars(summary),
            levels=services.levels_of(session.user_id),
        )
    position = context["trial"].position + 1 if context.get("trial") else answered
    if context.get("trial"):
        context["mark_radius"] = _radius(context["trial"])
    context["position"] = position
    return render(request, "training/tip_session.html", context, status=400 if error else 200)


@require_GET
@console_page(TIP_TRAINING + VIEW_COMPLIANCE, "TIP images")
def image(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = TipTrial.objects.filter(pk=trial_id).first()
    actor = actor_of(request)
    if trial is None or (trial.user_id != actor.user_id and not actor.has(*VIEW_COMPLIANCE)):
        raise Http404("no such image")
    try:
        data = media.get(trial.image_sha256)
    except OSError as exc:
        raise Http404("the image is gone from the media store") from exc
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = IMMUTABLE
    return response


urls: list[URLPattern] = [
    path("tip/", start, name="tip"),
    path("tip/<int:session_id>/", session_page, name="tip_session"),
    path("tip/image/<int:trial_id>.png", image, name="tip_image"),
]
