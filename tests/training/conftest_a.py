"""Fixtures of the course tests: people with roles, and answering a quiz right or wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.services import create_user
from mailwarden.training.models import Question, QuizAttempt
from tests.factories import ADMIN

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def person(db) -> Callable[..., User]:
    def make(username: str, role: str = "clerk", **kw: Any) -> User:
        return create_user(
            ADMIN, username, password=PASSWORD, roles=[role], check_password=False, **kw
        )

    return make


def actor(user: User) -> Actor:
    return Actor.for_user(User.objects.get(pk=user.pk))


def right_answers(attempt: QuizAttempt) -> list[list[int]]:
    """The positions, as shown, of each question's right choices."""
    out = []
    for entry in attempt.questions:
        correct = Question.objects.get(pk=entry["question"]).correct
        out.append([pos for pos, original in enumerate(entry["order"]) if original in correct])
    return out


def wrong_answers(attempt: QuizAttempt) -> list[list[int]]:
    out = []
    for entry in attempt.questions:
        correct = Question.objects.get(pk=entry["question"]).correct
        out.append([next(p for p, o in enumerate(entry["order"]) if o not in correct)])
    return out
