"""The weekly summary: once per site and week, from Monday 06:00 where the site is, by email to
security managers and administrators through the notification outbox, sent to a real SMTP
server (aiosmtpd) with the clock moved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.core.runner import run_pending
from mailwarden.reports import services
from mailwarden.reports.models import WeeklySummary
from tests.factories import CLERK
from tests.notify.conftest import SmtpServer, smtp_server  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

# Monday 9 March 2026 in London (UTC+0 until the end of March).
NEXT_MONDAY = datetime(2026, 3, 9, tzinfo=UTC)


@pytest.fixture
def managers(make_user):
    make_user(Role.SECURITY_MANAGER, "mona", email="mona@example.org")
    make_user(Role.ADMIN, "ada", email="ada@example.org")
    make_user(Role.AUDITOR, "audrey", email="audrey@example.org")
    make_user(Role.SECURITY_MANAGER, "noemail")
    return ["ada@example.org", "mona@example.org"]


def summaries(server: SmtpServer, address: str) -> list:
    return [m for m in server.to(address) if m["Subject"].startswith("Weekly mailroom summary")]


def test_the_summary_goes_once_a_week_to_managers(smtp_server, room, managers):  # noqa: F811
    # Just before 06:00 on Monday the week just ended is not due yet; the week before is, but
    # nothing arrived then, so there is nothing to send.
    room.at(NEXT_MONDAY + timedelta(hours=5, minutes=59))
    run_pending()
    assert summaries(smtp_server, "mona@example.org") == []

    room.at(NEXT_MONDAY + timedelta(hours=6))
    run_pending()
    room.clock.advance(hours=3)
    run_pending()
    room.clock.advance(days=2)
    run_pending()

    for address in managers:
        [summary] = summaries(smtp_server, address)
        assert summary["Subject"] == "Weekly mailroom summary: Site hq, week of 2 Mar 2026"
        text = summary.get_body(("plain",)).get_content()
        assert "Site hq, 2 Mar 2026 to 8 Mar 2026" in text
        assert "5 items received" in text
        assert "Median: 13 hours" in text
        assert "1 item waiting on the shelf for pickup more than 3 days now" in text
        assert "Destroyed: 1" in text
        assert "Dock door, 2, 1" in text
        assert "/reports/?start=2026-03-02&end=2026-03-08&site=hq&per=day" in text
        html = summary.get_body(("html",)).get_content()
        assert "<table>" in html
    assert summaries(smtp_server, "audrey@example.org") == []

    assert WeeklySummary.objects.filter(site=room.site).count() == 1
    entries = [
        e for e in ledger.entries_for("site", "hq") if e.action == "reports.weekly_summary.sent"
    ]
    assert [e.actor for e in entries] == ["job:weekly-summary"]
    assert ledger.entry_data(entries[-1])["recipients"] == ["ada", "mona"]
    assert OutboxEvent.objects.filter(topic="reports.weekly_summary.sent").count() == 1
    # The following Monday, a week in which nothing arrived sends nothing.
    room.at(NEXT_MONDAY + timedelta(days=7, hours=7))
    run_pending()
    assert len(summaries(smtp_server, "mona@example.org")) == 1


def test_a_week_is_sent_once_and_only_once_it_has_ended(room, managers):
    room.at(NEXT_MONDAY + timedelta(hours=7))
    week = date(2026, 3, 2)
    assert services.send_weekly_summary(services.WEEKLY_JOB, "hq", week) is not None
    assert services.send_weekly_summary(services.WEEKLY_JOB, "hq", week) is None
    assert WeeklySummary.objects.filter(week_start=week).count() == 1

    for bad, words in ((date(2026, 3, 9), "has not ended"), (date(2026, 3, 3), "Monday")):
        with pytest.raises(ServiceError) as refused:
            services.send_weekly_summary(services.WEEKLY_JOB, "hq", bad)
        assert refused.value.field == "week"
        assert words in refused.value.message
    with pytest.raises(Forbidden):
        services.send_weekly_summary(CLERK, "hq", date(2026, 2, 23))


def test_nothing_is_recorded_while_no_manager_has_an_email_address(room, make_user):
    make_user(Role.SECURITY_MANAGER, "noemail")
    room.at(NEXT_MONDAY + timedelta(hours=7))
    assert services.send_due_summaries(room.clock.current) == 0
    assert services.send_weekly_summary(services.WEEKLY_JOB, "hq", date(2026, 3, 2)) is None
    assert not WeeklySummary.objects.exists()
    make_user(Role.SECURITY_MANAGER, "mona", email="mona@example.org")
    assert services.send_due_summaries(room.clock.current) == 1


def test_each_site_has_its_own_monday(room, managers):
    from mailwarden.directory import services as directory
    from tests.factories import ADMIN

    directory.create_site(ADMIN, code="sg", name="Singapore", timezone="Asia/Singapore")
    # 22:00 UTC on Sunday is 06:00 on Monday in Singapore, still Sunday night in London.
    room.at(NEXT_MONDAY - timedelta(hours=2))
    assert services.week_due("Asia/Singapore", room.clock.current) == date(2026, 3, 2)
    assert services.week_due("Europe/London", room.clock.current) == date(2026, 2, 23)
