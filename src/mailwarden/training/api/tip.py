"""TIP training in the API: start a session, take its images one by one, answer each with a
mark or a clearance and read the feedback, and one's own measures and levels."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Path, Router
from ninja.responses import Status

from mailwarden.core import media
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.training.models import TipSession, TipTrial
from mailwarden.training.permissions import TIP_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.queries import tip as queries
from mailwarden.training.schemas_tip import (
    AnswerIn,
    FeedbackOut,
    MyTipOut,
    RecordId,
    SessionIn,
    SessionOut,
    TrialOut,
    measures_out,
    summary_out,
)
from mailwarden.training.services import tip as services

router = Router()


def _session_out(session: TipSession) -> SessionOut:
    done = session.finished_at is not None
    return SessionOut(
        id=session.pk,
        size=session.size,
        threat_share=session.threat_share,
        categories=list(session.categories),
        started_at=session.started_at,
        finished_at=session.finished_at,
        answered=session.trials.exclude(outcome="").count(),
        summary=summary_out(queries.session_summary(session)) if done else None,
    )


def _trial_out(trial: TipTrial) -> TrialOut:
    return TrialOut(
        id=trial.pk,
        session=trial.session_id or 0,
        position=trial.position,
        image_url=reverse("api:tip_trial_image", args=[trial.pk]),
        width=trial.width,
        height=trial.height,
        presented_at=trial.presented_at,
    )


@router.post(
    "/training/tip/sessions",
    response={201: SessionOut, **ERRORS},
    summary="Start a TIP training session (closing one left unfinished)",
)
@allow(TIP_TRAINING, "TIP training")
def start_tip_session(request: HttpRequest, payload: SessionIn) -> Status[SessionOut]:
    session = services.start_session(
        actor_of(request),
        size=payload.size,
        threat_share=payload.threat_share,
        categories=list(payload.categories) or None,
        seed=payload.seed,
    )
    return Status(201, _session_out(session))


@router.get(
    "/training/tip/sessions/{session_id}",
    response={200: SessionOut, **ERRORS},
    summary="A TIP session, with its summary once it is over",
)
@allow(TIP_TRAINING + VIEW_COMPLIANCE, "reading TIP sessions")
def get_tip_session(request: HttpRequest, session_id: Path[RecordId]) -> SessionOut:
    return _session_out(services.own_session(actor_of(request), session_id))


@router.post(
    "/training/tip/sessions/{session_id}/next",
    response={200: TrialOut, **ERRORS},
    summary="The session's image to answer now (made when there is none waiting)",
    description="404 once every image of the session is answered: read the session's summary.",
)
@allow(TIP_TRAINING, "TIP training")
def next_tip_trial(request: HttpRequest, session_id: Path[RecordId]) -> TrialOut:
    trial = services.current_trial(actor_of(request), session_id)
    if trial is None:
        raise NotFound("the session is over: every image is answered", "session_id")
    return _trial_out(trial)


@router.get(
    "/training/tip/trials/{trial_id}/image",
    response=ERRORS,
    url_name="tip_trial_image",
    summary="A TIP image (PNG)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The image",
                "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
@allow(TIP_TRAINING + VIEW_COMPLIANCE, "reading TIP images")
def tip_trial_image(request: HttpRequest, trial_id: Path[RecordId]) -> HttpResponse:
    actor = actor_of(request)
    trial = TipTrial.objects.filter(pk=trial_id).first()
    if trial is None or (trial.user_id != actor.user_id and not actor.has(*VIEW_COMPLIANCE)):
        raise NotFound(f"no TIP image {trial_id}", "trial_id")
    try:
        data = media.get(trial.image_sha256)
    except OSError as exc:
        raise NotFound("the image is gone from the media store", "trial_id") from exc
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@router.post(
    "/training/tip/trials/{trial_id}/answer",
    response={200: FeedbackOut, **ERRORS},
    summary="Answer a TIP image: 'threat' with a mark where it is, or 'clear'",
)
@allow(TIP_TRAINING, "TIP training")
def answer_tip_trial(
    request: HttpRequest, trial_id: Path[RecordId], payload: AnswerIn
) -> FeedbackOut:
    mark = (payload.mark[0], payload.mark[1]) if payload.mark else None
    feedback = services.answer(
        actor_of(request),
        trial_id,
        response=payload.response,
        mark=mark,
        response_ms=payload.response_ms,
    )
    return FeedbackOut(
        trial=feedback.trial.pk,
        outcome=feedback.outcome,  # type: ignore[arg-type]
        correct=feedback.correct,
        message=feedback.message,
        bbox=feedback.bbox,
        level_before=feedback.level_before,
        level_after=feedback.level_after,
        session_done=feedback.session_done,
    )


@router.get(
    "/training/tip/me",
    response={200: MyTipOut, **ERRORS},
    summary="My TIP measures (both modes), my level per threat category, my open session",
)
@allow(TIP_TRAINING, "TIP training")
def my_tip(request: HttpRequest) -> MyTipOut:
    actor = actor_of(request)
    user_id = actor.user_id or 0
    session = services.open_session(actor)
    return MyTipOut(
        measures=measures_out(queries.screener_measures(user_id)),
        levels=services.levels_of(user_id),
        open_session=session.pk if session else None,
    )
