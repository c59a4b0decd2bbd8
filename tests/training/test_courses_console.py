"""The course pages in the console: a learner takes a course page by page, the public check
needs no sign-in and shows nothing but what it should, and managers' pages keep to their roles."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.training.models import Assignment, Certificate, Course, QuizAttempt
from mailwarden.training.services import courses as services
from tests.factories import ADMIN, MANAGER
from tests.training.conftest_a import right_answers, wrong_answers

pytestmark = pytest.mark.django_db


def _signed_in(username: str, role: Role, **kw: str) -> tuple[User, Client]:
    user = create_user(
        ADMIN, username, password="x", roles=[role.value], check_password=False, **kw
    )
    client = Client()
    client.force_login(user)
    return user, client


def _take_module(client: Client, slug: str, position: int, *, right: bool = True) -> str:
    started = client.post(reverse("training:module", args=[slug, position]))
    assert started.status_code == 302
    attempt = QuizAttempt.objects.get(pk=int(started["Location"].rstrip("/").split("/")[-1]))
    answers = right_answers(attempt) if right else wrong_answers(attempt)
    form = {f"q{n}": [str(p) for p in picked] for n, picked in enumerate(answers)}
    page = client.post(started["Location"], form)
    assert page.status_code == 200
    return page.content.decode()


def test_a_learner_takes_a_course_in_the_console() -> None:
    _, client = _signed_in("lea", Role.CLERK, first_name="Lea", last_name="Ng")
    home = client.get(reverse("training:my")).content.decode()
    assert "Recognising suspicious mail" in home and "You have no courses yet" in home

    course_url = reverse("training:course", args=["access-hygiene"])
    assert client.post(course_url, {"action": "join"}).status_code == 302
    page = client.get(course_url).content.decode()
    assert "Tailgating" in page and "Badges are personal" in page

    module = client.get(reverse("training:module", args=["access-hygiene", 1])).content.decode()
    assert "One badge, one person." in module and 'id="start-quiz"' in module

    first = _take_module(client, "access-hygiene", 1)
    assert 'data-passed="yes"' in first and "certificate-issued" not in first
    last = _take_module(client, "access-hygiene", 2)
    assert 'id="certificate-issued"' in last
    code = Certificate.objects.get().code
    assert code in last

    certificates = client.get(reverse("training:certificates")).content.decode()
    assert code in certificates and 'data-status="current"' in certificates
    pdf = client.get(reverse("training:certificate_pdf", args=[code]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_failed_quiz_says_so_and_shows_the_right_answers() -> None:
    _, client = _signed_in("lea", Role.CLERK)
    page = _take_module(client, "reporting-chain", 1, right=False)
    assert 'data-passed="no"' in page and "Not passed" in page
    assert page.count("(your answer)") == 3 and page.count("✓") == 3


def test_an_unanswered_quiz_is_a_message_not_an_error() -> None:
    _, client = _signed_in("lea", Role.CLERK)
    started = client.post(reverse("training:module", args=["reporting-chain", 1]))
    page = client.post(started["Location"], {"q0": "0"})
    assert page.status_code == 400
    assert "question 2 has no answer" in page.content.decode()


def test_a_quiz_without_questions_is_a_message_on_the_module_page() -> None:
    _, client = _signed_in("lea", Role.CLERK)
    Course.objects.get(slug="access-hygiene").questions.update(active=False)
    url = reverse("training:module", args=["access-hygiene", 1])
    page = client.post(url, follow=True).content.decode()
    assert "this quiz has no questions yet" in page
    assert not QuizAttempt.objects.exists()


def test_someone_elses_quiz_and_certificate_are_not_found() -> None:
    _, lea = _signed_in("lea", Role.CLERK)
    _, max_ = _signed_in("max", Role.CLERK)
    started = lea.post(reverse("training:module", args=["reporting-chain", 1]))
    assert max_.get(started["Location"]).status_code == 404


def _certificate_for(username: str) -> Certificate:
    user = create_user(
        ADMIN,
        username,
        password="x",
        roles=["clerk"],
        check_password=False,
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.org",
    )
    from mailwarden.core.actor import Actor

    actor = Actor.for_user(user)
    result = None
    for module in Course.objects.get(slug="access-hygiene").modules.all():
        attempt = services.start_quiz(actor, module.pk)
        result = services.submit_quiz(actor, attempt.pk, right_answers(attempt))
    assert result is not None and result.certificate is not None
    return result.certificate


def test_the_public_check_needs_no_sign_in_and_shows_only_what_it_should(frozen_clock) -> None:
    cache.clear()
    certificate = _certificate_for("grace")
    anonymous = Client()
    page = anonymous.get(reverse("training:verify", args=[certificate.code]))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-status="valid"' in text
    assert "Grace Hopper" in text and "Access-control hygiene" in text
    for secret in ("grace@example.org", ">grace<", f"{certificate.score} %"):
        assert secret not in text
    # typed loosely, it is found and redirected to the canonical address
    typed = anonymous.get(
        reverse("training:verify_lookup"), {"code": certificate.code.lower().replace("-", " ")}
    )
    assert typed.status_code == 302 and typed["Location"].endswith(f"/verify/{certificate.code}/")
    missing = anonymous.get(reverse("training:verify", args=["AAAA-BBBB-CCCC"]))
    assert missing.status_code == 404 and "No certificate has that code" in missing.content.decode()
    frozen_clock.advance(days=400)
    expired = anonymous.get(reverse("training:verify", args=[certificate.code])).content.decode()
    assert 'data-status="expired"' in expired
    services.revoke_certificate(MANAGER, certificate.code, "issued in error")
    revoked = anonymous.get(reverse("training:verify", args=[certificate.code])).content.decode()
    assert 'data-status="revoked"' in revoked and "issued in error" not in revoked


def test_the_public_check_slows_down_guessing(frozen_clock) -> None:
    cache.clear()
    anonymous = Client()
    codes = [f"AAAA-AAAA-{n:04d}".replace("0", "A").replace("1", "B") for n in range(40)]
    answers = [anonymous.get(reverse("training:verify", args=[c])).status_code for c in codes]
    assert 429 in answers and answers.index(429) == 30


@pytest.mark.parametrize("name", ["courses", "assignments", "xapi"])
def test_learners_do_not_see_the_managers_pages(name: str) -> None:
    _, clerk = _signed_in("lea", Role.CLERK)
    assert clerk.get(reverse(f"training:{name}")).status_code == 403


def test_the_course_settings_page_keeps_to_roles() -> None:
    _, clerk = _signed_in("lea", Role.CLERK)
    url = reverse("training:course_admin", args=["mail-handling"])
    assert clerk.get(url).status_code == 403
    _, auditor = _signed_in("aud", Role.AUDITOR)
    assert auditor.get(url).status_code == 200
    assert auditor.post(url, {"action": "settings", "pass_mark": "50"}).status_code == 403
    assert Course.objects.get(slug="mail-handling").pass_mark == 80


def test_a_manager_changes_settings_and_adds_a_rule() -> None:
    _, manager = _signed_in("boss", Role.SECURITY_MANAGER)
    url = reverse("training:course_admin", args=["mail-handling"])
    page = manager.get(url).content.decode()
    assert "Intake step by step" in page and "bank of 6" in page
    bad = manager.post(
        url,
        {
            "action": "settings",
            "pass_mark": "70",
            "valid_days": "30",
            "renew_within_days": "30",
            "active": "on",
        },
    )
    assert bad.status_code == 400 and "less than the validity" in bad.content.decode()
    saved = manager.post(
        url,
        {
            "action": "settings",
            "pass_mark": "70",
            "valid_days": "400",
            "renew_within_days": "20",
            "active": "on",
        },
    )
    assert saved.status_code == 302
    assert Course.objects.get(slug="mail-handling").pass_mark == 70

    rules = reverse("training:assignments")
    added = manager.post(
        rules, {"action": "create", "course": "mail-handling", "role": "clerk", "due_days": "14"}
    )
    assert added.status_code == 302
    rule = Assignment.objects.get()
    listed = manager.get(rules).content.decode()
    assert "mailroom clerks" in listed
    manager.post(rules, {"action": "delete", "id": str(rule.pk)})
    assert not Assignment.objects.exists()


def test_the_xapi_download() -> None:
    _certificate_for("grace")
    _, auditor = _signed_in("aud", Role.AUDITOR)
    download = auditor.get(reverse("training:xapi"))
    assert download.status_code == 200
    assert re.search(r'"mbox": "mailto:grace@example.org"', download.content.decode())


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(out, format="PNG")
    return out.getvalue()


def test_a_manager_gives_a_module_an_image_and_a_video() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, manager = _signed_in("boss", Role.SECURITY_MANAGER)
    url = reverse("training:course_admin", args=["access-hygiene"])
    sent = manager.post(
        url,
        {
            "action": "media",
            "position": "1",
            "kind": "image",
            "file": SimpleUploadedFile("door.png", _png(), content_type="image/png"),
        },
    )
    assert sent.status_code == 302
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4
    manager.post(
        url,
        {
            "action": "media",
            "position": "1",
            "kind": "video",
            "file": SimpleUploadedFile("door.mp4", video, content_type="video/mp4"),
        },
    )
    refused = manager.post(
        url,
        {
            "action": "media",
            "position": "2",
            "kind": "video",
            "file": SimpleUploadedFile("x.mp4", b"not a video at all", content_type="video/mp4"),
        },
        follow=True,
    )
    assert "must be MP4 or WebM" in refused.content.decode()

    _, learner = _signed_in("lea", Role.CLERK)
    page = learner.get(reverse("training:module", args=["access-hygiene", 1])).content.decode()
    image_url = reverse("training:module_media", args=["access-hygiene", 1, "image"])
    video_url = reverse("training:module_media", args=["access-hygiene", 1, "video"])
    assert image_url in page and video_url in page
    image = learner.get(image_url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    part = learner.get(video_url, headers={"Range": "bytes=0-15"})
    assert part.status_code == 206 and part["Content-Type"] == "video/mp4"
    assert part.content == video[:16]
    assert (
        learner.get(
            reverse("training:module_media", args=["access-hygiene", 2, "image"])
        ).status_code
        == 404
    )
    # learners cannot change modules
    assert (
        learner.post(
            url, {"action": "media", "position": "1", "kind": "image", "remove": "on"}
        ).status_code
        == 403
    )
    manager.post(url, {"action": "media", "position": "1", "kind": "image", "remove": "on"})
    assert learner.get(image_url).status_code == 404
