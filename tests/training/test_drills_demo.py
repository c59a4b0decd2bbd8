"""The demo assembled: the incidents part's evacuation drill counts as training participation once
its events are delivered, the compliance page shows the demo mailroom, and the training part
never locks the demo's own screener out of the workstation or stops its clerk logging mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core import clock, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.demo import seed
from mailwarden.training.models import Participation
from mailwarden.training.queries import compliance
from mailwarden.training.services import certification


@pytest.mark.django_db
def test_the_demo_drill_counts_and_the_demo_staff_keep_working():
    result = seed(items=24, recipients=8, seed=3, skip={"screening", "risk"})
    assert result.created
    outbox.dispatch_due(clock.now() + timedelta(days=400), limit=5000)

    drill = Participation.objects.filter(kind="drill")
    assert drill.exists()
    assert drill.filter(user__username="manager").exists()  # it moved the drill on
    assert drill.exclude(recipient=None).exists()  # people who answered its roll call
    assert len(set(drill.values_list("ref", flat=True))) == 1

    board = compliance.board(compliance.Filters())
    assert sum(d.people for d in board.drills) >= 2

    screener = Actor.for_user(User.objects.get(username="screener"))
    certification.refuse_uncertified_screener(screener)  # the demo's screener may screen
    clerk = Actor.for_user(User.objects.get(username="clerk"))
    assert isinstance(certification.intake_warnings(clerk), list)

    manager = Client()
    manager.force_login(User.objects.get(username="manager"))
    page = manager.get("/training/compliance/")
    assert page.status_code == 200
    assert "data-drills=" in page.content.decode()
