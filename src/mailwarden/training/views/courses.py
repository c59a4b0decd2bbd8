"""Console pages of courses: a learner's courses, modules, quizzes and certificates; the public
certificate check; and the managers' course settings and assignment rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from mailwarden.config import get_settings
from mailwarden.core import clock, media
from mailwarden.core.downloads import StoredFile, send_file
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, client_address, console_page
from mailwarden.training import xapi
from mailwarden.training.certificates import certificate_pdf
from mailwarden.training.codes import normalise_code
from mailwarden.training.course_forms import (
    AssignmentForm,
    CourseSettingsForm,
    EnrolForm,
    LookupForm,
    RevokeForm,
)
from mailwarden.training.models import Certificate, Course, Module
from mailwarden.training.permissions import LEARN, MANAGE_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.queries import courses as queries
from mailwarden.training.queries.compliance import participation_of
from mailwarden.training.services import assignments as assignment_services
from mailwarden.training.services import courses as services

# The public check answers this many look-ups a minute from one address, then asks it to wait.
VERIFY_PER_MINUTE = 30


def _user_id(request: HttpRequest) -> int:
    pk = request.user.pk
    assert isinstance(pk, int)
    return pk


def _course_or_404(slug: str) -> Course:
    course = Course.objects.filter(slug=slug).prefetch_related("modules").first()
    if course is None:
        raise Http404("no such course")
    return course


def _refused(request: HttpRequest, exc: ServiceError) -> None:
    messages.error(request, exc.message)


# ----------------------------------------------------------------------------- learners


@console_page(LEARN, "your training")
@require_GET
def my(request: HttpRequest) -> HttpResponse:
    cards = queries.my_courses(_user_id(request))
    context = {
        "mine": [c for c in cards if c.enrolment or c.certificate],
        "others": [c for c in cards if not (c.enrolment or c.certificate)],
        "certificates": queries.certificates_of(_user_id(request))[:5],
        "drills": participation_of(_user_id(request))[:20],
    }
    return render(request, "training/courses_my.html", context)


@console_page(LEARN, "a course")
@require_http_methods(["GET", "POST"])
def course(request: HttpRequest, slug: str) -> HttpResponse:
    found = _course_or_404(slug)
    if request.method == "POST":
        actor = actor_of(request)
        try:
            if request.POST.get("action") == "claim":
                certificate = services.claim_certificate(actor, slug)
                messages.success(request, f"Certificate issued: code {certificate.code}.")
            else:
                services.join(actor, slug)
                messages.success(request, f"You are enrolled in {found.title}.")
        except ServiceError as exc:
            _refused(request, exc)
        return redirect("training:course", slug=slug)
    card = queries.course_card(found, _user_id(request))
    shortfall = None
    if card.enrolment and card.all_passed:
        shortfall = services.tip_shortfall(found, _user_id(request))
    return render(request, "training/courses_course.html", {"card": card, "shortfall": shortfall})


def _module_or_404(slug: str, position: int) -> Module:
    module = (
        Module.objects.select_related("course").filter(course__slug=slug, position=position).first()
    )
    if module is None:
        raise Http404("no such module")
    return module


@console_page(LEARN, "a course module")
@require_http_methods(["GET", "POST"])
def module(request: HttpRequest, slug: str, position: int) -> HttpResponse:
    found = _module_or_404(slug, position)
    if request.method == "POST":
        try:
            attempt = services.start_quiz(actor_of(request), found.pk)
        except ServiceError as exc:
            _refused(request, exc)
            return redirect("training:module", slug=slug, position=position)
        return redirect("training:quiz", attempt=attempt.pk)
    card = queries.course_card(found.course, _user_id(request))
    progress = next((m for m in card.modules if m.module.pk == found.pk), None)
    context = {
        "module": found,
        "course": found.course,
        "body": queries.module_html(found),
        "progress": progress,
        "modules": card.modules,
    }
    return render(request, "training/courses_module.html", context)


def _answers_from(request: HttpRequest, count: int) -> list[list[int]]:
    answers: list[list[int]] = []
    for n in range(count):
        picked = []
        for value in request.POST.getlist(f"q{n}"):
            try:
                picked.append(int(value))
            except ValueError:
                raise ServiceError(f"question {n + 1} has no such choice", "answers") from None
        answers.append(picked)
    return answers


@console_page(LEARN, "a quiz")
@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, attempt: int) -> HttpResponse:
    found = queries.attempt_of(attempt, _user_id(request))
    if found is None:
        raise Http404("no such quiz")
    error = None
    result = None
    if request.method == "POST":
        try:
            answers = _answers_from(request, len(found.questions))
            result = services.submit_quiz(actor_of(request), found.pk, answers)
        except ServiceError as exc:
            error = exc.message
        else:
            found = result.attempt
    context = {
        "attempt": found,
        "module": found.module,
        "course": found.module.course,
        "questions": queries.shown_questions(found),
        "error": error,
        "result": result,
    }
    return render(request, "training/courses_quiz.html", context, status=400 if error else 200)


@console_page(LEARN, "your certificates")
@require_GET
def certificates(request: HttpRequest) -> HttpResponse:
    rows = [(c, queries.certificate_status(c)) for c in queries.certificates_of(_user_id(request))]
    return render(request, "training/courses_certificates.html", {"rows": rows})


@console_page(LEARN, "a certificate")
@require_GET
def certificate_pdf_view(request: HttpRequest, code: str) -> HttpResponse:
    found = Certificate.objects.select_related("course", "user").filter(code=code).first()
    actor = actor_of(request)
    # Your own certificates, or anyone's for those who watch compliance.
    if found is None or (found.user_id != request.user.pk and not actor.has(*VIEW_COMPLIANCE)):
        raise Http404("no such certificate")
    response = HttpResponse(certificate_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{found.code}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _media_type(kind: str, path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(16)
    if kind == "video":
        return services.video_type(head) or "application/octet-stream"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "image/webp"


@console_page(LEARN, "a module's picture or video")
@require_GET
def module_media(request: HttpRequest, slug: str, position: int, kind: str) -> HttpResponse:
    found = _module_or_404(slug, position)
    digest = getattr(found, f"{kind}_sha256", "") if kind in ("image", "video") else ""
    path = media.path_for(digest) if digest else None
    if path is None or not path.exists():
        raise Http404("this module has none")
    content_type = _media_type(kind, path)
    evidence = StoredFile(path, content_type, path.stat().st_size)
    return send_file(request, evidence, f"{slug}-{position}-{kind}")


# ----------------------------------------------------------------------------- public check


def _throttled(request: HttpRequest) -> bool:
    """A few look-ups a minute per address: enough for people, too few to guess codes."""
    key = f"training-verify:{client_address(request)}:{int(clock.now().timestamp()) // 60}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        count = 1
    return count > VERIFY_PER_MINUTE


@never_cache
@require_GET
def verify(request: HttpRequest, code: str = "") -> HttpResponse:
    """Anyone, signed in or not, can check a certificate by its code: the page names the
    holder and the course, when it was issued and until when, and whether it holds."""
    wanted = code or request.GET.get("code", "")
    if not code and wanted:
        clean = normalise_code(wanted)
        if clean:
            return redirect("training:verify", code=clean)
    if _throttled(request):
        return render(request, "training/courses_verify.html", {"throttled": True}, status=429)
    form = LookupForm(initial={"code": wanted})
    found = queries.verify(wanted) if wanted else None
    status = 200 if found or not wanted else 404
    context = {"form": form, "asked": wanted, "found": found}
    return render(request, "training/courses_verify.html", context, status=status)


# ----------------------------------------------------------------------------- managers


@console_page(VIEW_COMPLIANCE, "courses")
@require_GET
def courses(request: HttpRequest) -> HttpResponse:
    can_manage = actor_of(request).has(*MANAGE_TRAINING)
    return render(
        request,
        "training/courses_list.html",
        {"rows": queries.course_rows(), "can_manage": can_manage},
    )


def _settings_form(course: Course, data: Any = None) -> CourseSettingsForm:
    return CourseSettingsForm(
        data,
        initial={
            "pass_mark": course.pass_mark,
            "valid_days": course.valid_days,
            "renew_within_days": course.renew_within_days,
            "min_tip_trials": course.min_tip_trials,
            "min_dprime": course.min_dprime,
            "active": course.active,
        },
    )


@console_page(VIEW_COMPLIANCE, "a course's settings")
@require_http_methods(["GET", "POST"])
def course_admin(request: HttpRequest, slug: str) -> HttpResponse:
    found = _course_or_404(slug)
    actor = actor_of(request)
    settings_form = _settings_form(found)
    enrol_form = EnrolForm()
    revoke_form = RevokeForm()
    if request.method == "POST":
        if not actor.has(*MANAGE_TRAINING):
            return render(
                request,
                "core/forbidden.html",
                {"message": "changing a course needs the security manager role"},
                status=403,
            )
        action = request.POST.get("action")
        try:
            if action == "settings":
                settings_form = _settings_form(found, request.POST)
                if settings_form.is_valid():
                    d = settings_form.cleaned_data
                    services.update_course(
                        actor,
                        slug,
                        services.CourseSettings(
                            pass_mark=d["pass_mark"],
                            valid_days=d["valid_days"],
                            renew_within_days=d["renew_within_days"],
                            active=d["active"],
                            min_tip_trials=d["min_tip_trials"],
                            min_dprime=d["min_dprime"],
                        ),
                    )
                    messages.success(request, "Course settings saved.")
                    return redirect("training:course_admin", slug=slug)
            elif action == "enrol":
                enrol_form = EnrolForm(request.POST)
                if enrol_form.is_valid():
                    d = enrol_form.cleaned_data
                    services.enrol(
                        actor, slug, int(d["user"]), reason=d["reason"], due_days=d["due_days"]
                    )
                    messages.success(request, "Enrolled.")
                    return redirect("training:course_admin", slug=slug)
            elif action == "media":
                kind = request.POST.get("kind", "")
                upload = request.FILES.get("file")
                removing = request.POST.get("remove") == "on"
                if upload is None and not removing:
                    raise ServiceError("choose a file, or tick remove", kind or "file")
                services.set_module_media(
                    actor,
                    slug,
                    int(request.POST.get("position", "0") or 0),
                    kind,
                    None if removing or upload is None else upload.read(),
                )
                messages.success(request, "Module updated.")
                return redirect("training:course_admin", slug=slug)
            elif action == "revoke":
                revoke_form = RevokeForm(request.POST)
                if revoke_form.is_valid():
                    d = revoke_form.cleaned_data
                    services.revoke_certificate(actor, d["code"], d["reason"])
                    messages.success(request, f"Certificate {d['code']} revoked.")
                    return redirect("training:course_admin", slug=slug)
        except ServiceError as exc:
            if action == "media":
                messages.error(request, f"{exc.field}: {exc.message}")
                return redirect("training:course_admin", slug=slug)
            form = {"settings": settings_form, "enrol": enrol_form}.get(action or "", revoke_form)
            add_service_error(form, exc)
    context = {
        "course": found,
        "banks": queries.bank_sizes(found),
        "settings_form": settings_form,
        "enrol_form": enrol_form,
        "revoke_form": revoke_form,
        "can_manage": actor.has(*MANAGE_TRAINING),
        "certificates": found.certificates.select_related("user")[:50],
        "enrolments": found.enrolments.select_related("user")[:50],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "training/courses_admin.html", context, status=status)


@console_page(VIEW_COMPLIANCE, "assignment rules")
@require_http_methods(["GET", "POST"])
def assignments(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = AssignmentForm()
    status = 200
    if request.method == "POST":
        if not actor.has(*MANAGE_TRAINING):
            return render(
                request,
                "core/forbidden.html",
                {"message": "assigning courses needs the security manager role"},
                status=403,
            )
        try:
            if request.POST.get("action") == "delete":
                assignment_services.delete_assignment(actor, int(request.POST.get("id", "0")))
                messages.success(request, "Assignment removed.")
                return redirect("training:assignments")
            form = AssignmentForm(request.POST)
            if form.is_valid():
                d = form.cleaned_data
                assignment_services.create_assignment(
                    actor,
                    assignment_services.AssignmentSpec(
                        course=d["course"],
                        role=d["role"],
                        department=d["department"],
                        site=d["site"],
                        due_days=d["due_days"],
                    ),
                )
                messages.success(
                    request, "Assignment added; people it covers are enrolled within a minute."
                )
                return redirect("training:assignments")
        except (ServiceError, ValueError) as exc:
            if isinstance(exc, ServiceError):
                add_service_error(form, exc)
            else:
                form.add_error(None, "no such assignment")
        status = 400
    rows = [(a, assignment_services.describe(a)) for a in queries.assignments()]
    context = {"form": form, "rows": rows, "can_manage": actor.has(*MANAGE_TRAINING)}
    return render(request, "training/courses_assignments.html", context, status=status)


@console_page(VIEW_COMPLIANCE, "exporting completions")
@require_GET
def xapi_export(request: HttpRequest) -> HttpResponse:
    found = queries.certificates_for_export(course=request.GET.get("course") or None)
    body = list(xapi.statements(found, get_settings().base_url))
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="training-xapi.json"'
    return response


urls: list[URLPattern] = [
    path("", my, name="my"),
    path("courses/<slug:slug>/", course, name="course"),
    path("courses/<slug:slug>/<int:position>/", module, name="module"),
    path(
        "courses/<slug:slug>/<int:position>/<str:kind>",
        module_media,
        name="module_media",
    ),
    path("quiz/<int:attempt>/", quiz, name="quiz"),
    path("certificates/", certificates, name="certificates"),
    path("certificates/<str:code>.pdf", certificate_pdf_view, name="certificate_pdf"),
    path("verify/", verify, name="verify_lookup"),
    path("verify/<str:code>/", verify, name="verify"),
    path("manage/courses/", courses, name="courses"),
    path("manage/courses/<slug:slug>/", course_admin, name="course_admin"),
    path("manage/assignments/", assignments, name="assignments"),
    path("manage/xapi.json", xapi_export, name="xapi"),
]
