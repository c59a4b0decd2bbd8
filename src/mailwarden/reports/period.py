"""What a report covers: a range of days, one site or all of them, counted per day or per week.

Days are each site's own (a parcel logged at 23:30 in Singapore belongs to that day there), so
every figure is gathered site by site over the site's local window and then added up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from mailwarden.core import clock
from mailwarden.core.errors import ServiceError
from mailwarden.directory import queries as directory
from mailwarden.directory.models import Site

# A year and a day: a whole year compared day by day is the most anyone reads from one chart.
MAX_DAYS = 366
DEFAULT_DAYS = 28
# Far enough apart for any mailroom's history; a date beyond them is a typing slip, and it would
# push a site's local window off the calendar.
EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)


class Per(StrEnum):
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive
    site: Site | None  # None: every site
    per: Per = Per.DAY

    @property
    def sites(self) -> list[Site]:
        if self.site is not None:
            return [self.site]
        return list(Site.objects.order_by("code"))

    @property
    def site_code(self) -> str:
        return self.site.code if self.site is not None else ""

    @property
    def site_name(self) -> str:
        return self.site.name if self.site is not None else "All sites"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def buckets(self) -> list[date]:
        """The first day of every day or week (Monday) the period touches, in order."""
        if self.per == Per.DAY:
            return [self.first + timedelta(days=n) for n in range(self.days)]
        start = week_start(self.first)
        found = []
        while start <= self.last:
            found.append(start)
            start += timedelta(days=7)
        return found

    def bucket_of(self, day: date) -> date:
        return day if self.per == Per.DAY else week_start(day)

    def label(self, bucket: date) -> str:
        text = f"{bucket.day} {bucket:%b}"
        return text if self.per == Per.DAY else f"w/c {text}"

    @property
    def per_word(self) -> str:
        return "Day" if self.per == Per.DAY else "Week beginning"

    def local_day(self, site: Site, moment: datetime) -> date:
        return moment.astimezone(ZoneInfo(site.timezone)).date()

    @property
    def text(self) -> str:
        """The period in words, for titles and file names' readers."""
        return f"{self.site_name}, {self.first:%-d %b %Y} to {self.last:%-d %b %Y}"

    @property
    def slug(self) -> str:
        return f"{self.site_code or 'all-sites'}-{self.first:%Y%m%d}-{self.last:%Y%m%d}"

    def query(self) -> dict[str, str]:
        """The period as the page's form fields, for links to the same figures."""
        return {
            "start": self.first.isoformat(),
            "end": self.last.isoformat(),
            "site": self.site_code,
            "per": self.per.value,
        }


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _date(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceError("must be a date written YYYY-MM-DD, such as 2026-03-02", field) from None


def period_of(
    first: date | None,
    last: date | None,
    site_code: str | None,
    per: str | None = None,
    *,
    today: date | None = None,
) -> Period:
    """The period asked for, the last four weeks to today by default; refused with the field
    at fault and the reason."""
    today = today or clock.now().date()
    for value, field in ((first, "start"), (last, "end")):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ServiceError(
                f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}", field
            )
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise ServiceError("must be on or after the start date", "end")
    if (last - first).days + 1 > MAX_DAYS:
        raise ServiceError(f"a report covers at most {MAX_DAYS} days; shorten the range", "start")
    per_value = (per or Per.DAY.value).strip()
    if per_value not in Per.__members__.values():
        raise ServiceError("choose day or week", "per")
    site = directory.site_by_code(site_code.strip(), field="site") if site_code else None
    return Period(first, last, site, Per(per_value))


def period_from(data: Mapping[str, str]) -> Period:
    """The period from a form's or a query string's text fields."""
    return period_of(
        _date(data.get("start", ""), "start"),
        _date(data.get("end", ""), "end"),
        data.get("site", "").strip() or None,
        data.get("per", "").strip() or None,
    )
