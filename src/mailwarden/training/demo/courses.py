"""Demo: the shipped courses with assignment rules, people part-way through them, and a few
certificates: current, one due for renewal and one expired. Everything goes through the
services, with the clock set back for what happened in the past."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.contrib.auth.models import User

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.plugins import DemoOptions
from mailwarden.training.models import Module, Question, QuizAttempt
from mailwarden.training.services import assignments, courses

MANAGER = Actor.job("demo")

# (username, course, days ago it was passed): the auditor's is due for renewal, the
# operator's expired. The screener course is left to the TIP demo: its certificate needs trials.
PASSED = (
    ("clerk", "mail-handling", 40),
    ("clerk", "suspicious-mail", 60),
    ("manager", "suspicious-package", 90),
    ("auditor", "access-hygiene", 350),
    ("operator", "access-hygiene", 400),
)
# (username, course, modules passed so far)
UNDER_WAY = (
    ("operator", "reporting-chain", 1),
    ("manager", "reporting-chain", 0),
)


def _answers(attempt: QuizAttempt, rng: random.Random, right: bool) -> list[list[int]]:
    out = []
    for entry in attempt.questions:
        correct = Question.objects.get(pk=entry["question"]).correct
        shown = [p for p, original in enumerate(entry["order"]) if (original in correct) == right]
        out.append(shown if right else [rng.choice(shown)])
    return out


def _take(user: User, slug: str, modules: int, at: datetime, rng: random.Random) -> None:
    actor = Actor.for_user(user)
    for position, module in enumerate(Module.objects.filter(course__slug=slug), start=1):
        if position > modules:
            break
        with use_clock(FrozenClock(at + timedelta(minutes=10 * position))):
            # Now and then a first try falls short, as it does.
            if rng.random() < 0.3:
                attempt = courses.start_quiz(actor, module.pk)
                courses.submit_quiz(actor, attempt.pk, _answers(attempt, rng, right=False))
            attempt = courses.start_quiz(actor, module.pk)
            courses.submit_quiz(actor, attempt.pk, _answers(attempt, rng, right=True))


def seed(options: DemoOptions) -> str:
    rng = random.Random(options.seed)
    now = clock.now()
    people = {u.username: u for u in User.objects.filter(is_active=True)}
    assignments.create_assignment(
        MANAGER, assignments.AssignmentSpec("mail-handling", role="clerk", due_days=30)
    )
    assignments.create_assignment(
        MANAGER, assignments.AssignmentSpec("suspicious-mail", role="clerk", due_days=60)
    )
    assignments.create_assignment(
        MANAGER, assignments.AssignmentSpec("access-hygiene", due_days=90)
    )
    issued = 0
    for username, slug, days_ago in PASSED:
        user = people.get(username)
        if user is None:
            continue
        modules = Module.objects.filter(course__slug=slug).count()
        _take(user, slug, modules, now - timedelta(days=days_ago), rng)
        issued += 1
    for username, slug, modules in UNDER_WAY:
        user = people.get(username)
        if user is None:
            continue
        with use_clock(FrozenClock(now - timedelta(days=3))):
            courses.join(Actor.for_user(user), slug)
        _take(user, slug, modules, now - timedelta(days=2), rng)
    enrolled = assignments.run(now)
    return f"{issued} course certificates (one expired, one due for renewal), {enrolled} enrolments"
