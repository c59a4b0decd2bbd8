"""Scheduled backups: when one is due, and which archives the keep rules hold on to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailwarden.config import BackupConfig
from mailwarden.core.backup import archive, schedule
from mailwarden.core.backup.targets import FolderTarget
from mailwarden.core.clock import FrozenClock
from mailwarden.core.tasks import _periodic

START = datetime(2025, 1, 1, 2, 30, tzinfo=UTC)


def daily_names(days: int) -> list[str]:
    return [archive.archive_name(START + timedelta(days=d)) for d in range(days)]


def test_the_job_is_on_the_tick():
    assert _periodic["backup"] is schedule.scheduled


def test_due_once_a_day_from_the_hour():
    config = BackupConfig(to="/x", schedule_hour=2)
    clock = FrozenClock(datetime(2026, 3, 2, 1, 59, tzinfo=UTC))
    taken: list[str] = []
    assert not schedule.due(taken, clock(), config)  # before the hour
    clock.advance(minutes=1)
    assert schedule.due(taken, clock(), config)
    taken.append(archive.archive_name(clock()))
    clock.advance(hours=21, minutes=59)  # 23:59 the same day
    assert not schedule.due(taken, clock(), config)
    clock.advance(minutes=1)  # midnight: a new day, but before the hour
    assert not schedule.due(taken, clock(), config)
    clock.advance(hours=2)
    assert schedule.due(taken, clock(), config)


def test_keep_daily_weekly_monthly_over_a_year_of_daily_archives():
    names = daily_names(400)  # 2025-01-01 .. 2026-02-04
    kept = schedule.keep(names, BackupConfig(keep_daily=7, keep_weekly=4, keep_monthly=12))
    days = sorted(archive.time_of(n).date().isoformat() for n in kept)
    newest = START + timedelta(days=399)
    # The last 7 days; the newest of each of the last 4 ISO weeks (Sundays, and the newest day);
    # the newest of each of the last 12 months (month ends, and the newest day).
    expected_daily = {(newest - timedelta(days=d)).date().isoformat() for d in range(7)}
    assert expected_daily <= set(days)
    assert {"2026-01-25", "2026-01-18"} <= set(days)  # Sundays of the two weeks before
    month_ends = {"2025-03-31", "2025-06-30", "2025-12-31", "2026-01-31"}
    assert month_ends <= set(days)
    assert "2025-02-28" not in days  # the 13th month back is past keep_monthly
    assert len(days) == len(set(days)) == 7 + 2 + 10


def test_keep_zero_still_keeps_the_newest():
    names = daily_names(5)
    assert schedule.keep(names, BackupConfig(keep_daily=0, keep_weekly=0, keep_monthly=0)) == {
        names[-1]
    }


def test_prune_deletes_only_archives_the_rules_drop(tmp_path):
    for name in daily_names(10):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / (archive.archive_name(START) + ".partial")).write_bytes(b"x")
    pruned = schedule.prune(
        FolderTarget(tmp_path), BackupConfig(keep_daily=3, keep_weekly=0, keep_monthly=0)
    )
    assert pruned.kept == daily_names(10)[-3:]
    assert len(pruned.deleted) == 7
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        [*daily_names(10)[-3:], "notes.txt", archive.archive_name(START) + ".partial"]
    )


def test_a_day_moved_forward_prunes_the_oldest_daily(tmp_path):
    config = BackupConfig(keep_daily=3, keep_weekly=0, keep_monthly=0)
    clock = FrozenClock(START)
    target = FolderTarget(tmp_path)
    for _ in range(5):
        (tmp_path / archive.archive_name(clock())).write_bytes(b"x")
        schedule.prune(target, config)
        clock.advance(days=1)
    assert target.names() == daily_names(5)[-3:]


def test_off_unless_a_target_is_set():
    schedule.forget_today()
    assert schedule.run_if_due(START.replace(hour=12)) == 0
