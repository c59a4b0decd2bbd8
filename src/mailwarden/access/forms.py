"""Console forms for access control: log and report filters, and the editors' inputs.

Field names follow the service arguments they feed, so a ServiceError's ``field`` lands next to
the right input without a mapping. Forms only shape input; the services decide what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet

from mailwarden.access.models import (
    AccessLevel,
    CardFormat,
    CredentialKind,
    Door,
    HolderKind,
    Schedule,
)
from mailwarden.core.forms import form_field
from mailwarden.directory.models import Site
from mailwarden.edge.rules import WEEKDAYS

DAY_LABELS = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}
HHMM = re.compile(r"^\d{1,2}:\d{2}$")
# Blank rows offered after a schedule's own windows, so one can be added without JavaScript.
SPARE_WEEKLY_ROWS = 2
SPARE_HOLIDAY_ROWS = 1
MAX_DAYS_IN_RANGE = 366


def _date_input(**attrs: str) -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def site_choices(blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(s.code, s.name) for s in Site.objects.order_by("name")]
    return [("", blank), *choices] if blank is not None else choices


# ----------------------------------------------------------------------------- log and report


class DateRangeMixin(forms.Form):
    since = forms.DateField(label="From", required=False, widget=_date_input())
    until = forms.DateField(label="To", required=False, widget=_date_input())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until:
            if until < since:
                self.add_error("until", "must be on or after the first day")
            elif (until - since).days > MAX_DAYS_IN_RANGE:
                self.add_error("until", f"choose at most {MAX_DAYS_IN_RANGE} days")
        return data


class LogFilterForm(DateRangeMixin):
    site = forms.ChoiceField(label="Site", required=False)
    door = forms.ChoiceField(label="Door", required=False)
    cardholder = forms.CharField(
        label="Cardholder",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name"}),
    )
    result = forms.ChoiceField(
        label="Result",
        required=False,
        choices=[("", "Any result"), ("granted", "Granted"), ("denied", "Refused")],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    field_order = ["site", "door", "cardholder", "result", "since", "until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "site", forms.ChoiceField).choices = site_choices("All sites")
        doors = Door.objects.select_related("site").order_by("site__name", "name", "code")
        form_field(self, "door", forms.ChoiceField).choices = [("", "All doors")] + [
            (str(d.pk), f"{d} ({d.site.code})") for d in doors
        ]


class ReportForm(DateRangeMixin):
    site = forms.ChoiceField(label="Site", required=False)

    field_order = ["site", "since", "until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "site", forms.ChoiceField).choices = site_choices("All sites")


# ----------------------------------------------------------------------------- cardholders


class CardholderSearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or company"}),
    )
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *HolderKind.choices]
    )


class CardholderForm(forms.Form):
    name = forms.CharField(
        label="Name",
        required=False,
        max_length=150,
        help_text="Leave empty to take the linked employee's name.",
    )
    kind = forms.ChoiceField(
        label="Kind", choices=HolderKind.choices, initial=HolderKind.STAFF, widget=forms.RadioSelect
    )
    company = forms.CharField(label="Company", required=False, max_length=120)
    recipient = forms.CharField(
        label="Employee ID",
        required=False,
        max_length=40,
        help_text="Links the cardholder to the employee directory (optional).",
    )


class CardholderEditForm(forms.Form):
    name = forms.CharField(label="Name", max_length=150)
    kind = forms.ChoiceField(label="Kind", choices=HolderKind.choices, widget=forms.RadioSelect)
    company = forms.CharField(label="Company", required=False, max_length=120)


# ----------------------------------------------------------------------------- credentials


class LevelsField(forms.ModelMultipleChoiceField[AccessLevel]):
    """Each level box says where and when it opens, so the issuer need not look it up."""

    def label_from_instance(self, obj: AccessLevel) -> str:
        doors = ", ".join(str(d) for d in obj.doors.all()) or "no doors"
        return f"{obj.name} ({obj.schedule.name}): {doors}"


def _levels_field(levels: QuerySet[AccessLevel], label: str = "Access levels") -> LevelsField:
    return LevelsField(
        label=label,
        queryset=levels,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def level_queryset() -> QuerySet[AccessLevel]:
    return AccessLevel.objects.select_related("site", "schedule").order_by("site__name", "name")


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(
        label="Credential",
        choices=CredentialKind.choices,
        initial=CredentialKind.CARD,
        widget=forms.RadioSelect,
    )
    format = forms.ChoiceField(
        label="Card format", required=False, choices=CardFormat.choices, initial=CardFormat.H10301
    )
    facility = forms.IntegerField(
        label="Facility code",
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    card = forms.IntegerField(
        label="Card number",
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    bit_length = forms.IntegerField(
        label="Bits (raw cards only)",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    pin = forms.CharField(
        label="PIN",
        required=False,
        max_length=12,
        strip=False,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "new-password"}, render_value=False
        ),
        help_text="4 to 12 digits. Only its salted hash is kept.",
    )
    levels = _levels_field(AccessLevel.objects.none())
    valid_from = forms.DateTimeField(label="Valid from", required=False, widget=_datetime_input())
    valid_until = forms.DateTimeField(
        label="Valid until",
        required=False,
        widget=_datetime_input(),
        help_text="Required for visitors and contractors.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        levels = form_field(self, "levels", LevelsField)
        levels.queryset = level_queryset().prefetch_related("doors")

    def card_values(self) -> dict[str, Any]:
        """What the card part of the service call gets; nothing for a PIN on its own."""
        data = self.cleaned_data
        if data["kind"] == CredentialKind.PIN:
            return {"format": None, "facility": None, "card": None, "bit_length": None}
        return {
            "format": data.get("format") or None,
            "facility": data.get("facility"),
            "card": data.get("card"),
            "bit_length": data.get("bit_length"),
        }

    def pin_value(self) -> str | None:
        if self.cleaned_data["kind"] == CredentialKind.CARD:
            return None
        return self.cleaned_data.get("pin") or ""


class CredentialLevelsForm(forms.Form):
    levels = _levels_field(AccessLevel.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        levels = form_field(self, "levels", LevelsField)
        levels.queryset = level_queryset().prefetch_related("doors")


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="Why is it revoked?",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "For example: card reported lost"}),
    )


class CredentialSearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Holder or card number"}),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("live", "In use"), ("revoked", "Revoked"), ("all", "All")],
    )


# ----------------------------------------------------------------------------- levels


class LevelForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    schedule = forms.ModelChoiceField(label="When", queryset=Schedule.objects.none())
    doors = forms.ModelMultipleChoiceField(
        label="Doors",
        queryset=Door.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, site: Site, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "schedule", forms.ModelChoiceField).queryset = Schedule.objects.filter(
            site=site
        ).order_by("name")
        form_field(self, "doors", forms.ModelMultipleChoiceField).queryset = Door.objects.filter(
            site=site
        ).order_by("name", "code")
        if editing:
            # The service keeps a level's name: it is how people and the ledger know the level.
            del self.fields["name"]


# ----------------------------------------------------------------------------- schedules


class ScheduleForm(forms.Form):
    """A schedule's weekly windows and holiday windows as rows of inputs.

    Rows are numbered fields (``w0_days``, ``w0_start``, ``w0_end``; ``h0_start``...), so the
    page works without JavaScript; a row left empty is ignored.
    """

    name = forms.CharField(label="Name", max_length=100)

    def __init__(
        self,
        *args: Any,
        windows: Sequence[dict[str, Any]] = (),
        holiday_windows: Sequence[dict[str, Any]] = (),
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["name"]
        self.weekly_count = len(windows) + SPARE_WEEKLY_ROWS
        self.holiday_count = len(holiday_windows) + SPARE_HOLIDAY_ROWS
        if self.is_bound:
            # A row added and refused must come back as typed, however many the page sent.
            self.weekly_count = max(self.weekly_count, self._rows_sent("w"))
            self.holiday_count = max(self.holiday_count, self._rows_sent("h"))
        for n in range(self.weekly_count):
            window = windows[n] if n < len(windows) else {}
            self.fields[f"w{n}_days"] = forms.MultipleChoiceField(
                label="Days",
                required=False,
                choices=[(d, DAY_LABELS[d]) for d in WEEKDAYS],
                widget=forms.CheckboxSelectMultiple,
                initial=list(window.get("days", ())),
            )
            self.fields[f"w{n}_start"] = _time_field("From", window.get("start"))
            self.fields[f"w{n}_end"] = _time_field("To", window.get("end"))
        for n in range(self.holiday_count):
            window = holiday_windows[n] if n < len(holiday_windows) else {}
            self.fields[f"h{n}_start"] = _time_field("From", window.get("start"))
            self.fields[f"h{n}_end"] = _time_field("To", window.get("end"))
        # Which form field each window sent to the service came from, for placing its errors.
        self.weekly_rows: list[int] = []
        self.holiday_rows: list[int] = []

    def _rows_sent(self, prefix: str) -> int:
        numbers = [
            int(m[1]) for key in self.data if (m := re.fullmatch(rf"{prefix}(\d+)_\w+", key))
        ]
        return min(max(numbers, default=-1) + 1, 50)

    def weekly_rows_fields(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"w{n}_days"], self[f"w{n}_start"], self[f"w{n}_end"])
            for n in range(self.weekly_count)
        ]

    def holiday_rows_fields(self) -> list[tuple[Any, Any]]:
        return [(self[f"h{n}_start"], self[f"h{n}_end"]) for n in range(self.holiday_count)]

    def windows(self) -> list[dict[str, Any]]:
        data, out = self.cleaned_data, []
        self.weekly_rows = []
        for n in range(self.weekly_count):
            days = data.get(f"w{n}_days")
            start, end = data.get(f"w{n}_start"), data.get(f"w{n}_end")
            if not days and not start and not end:
                continue
            self.weekly_rows.append(n)
            out.append({"days": list(days or []), "start": start or "", "end": end or ""})
        return out

    def holiday_windows(self) -> list[dict[str, Any]]:
        data, out = self.cleaned_data, []
        self.holiday_rows = []
        for n in range(self.holiday_count):
            start, end = data.get(f"h{n}_start"), data.get(f"h{n}_end")
            if not start and not end:
                continue
            self.holiday_rows.append(n)
            out.append({"start": start or "", "end": end or ""})
        return out

    def field_for(self, service_field: str | None, message: str) -> str | None:
        """The input a schedule service error belongs to: ``windows[1].end: ...`` names the
        second window sent, which is the row it came from; its message names the part."""
        match = re.match(r"^(windows|holiday_windows)\[(\d+)\](?:\.(\w+))?", message)
        if service_field not in ("windows", "holiday_windows") or match is None:
            return service_field if service_field in self.fields else None
        weekly = match[1] == "windows"
        rows = self.weekly_rows if weekly else self.holiday_rows
        index = int(match[2])
        if index >= len(rows):
            return None
        parts = ("days", "start", "end") if weekly else ("start", "end")
        # A window refused as a whole (it ends before it starts) is shown at its end time.
        part = match[3] if match[3] in parts else "end"
        name = f"{'w' if weekly else 'h'}{rows[index]}_{part}"
        return name if name in self.fields else None


def _time_field(label: str, initial: str | None) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=5,
        initial=initial,
        widget=forms.TextInput(
            attrs={"placeholder": "HH:MM", "inputmode": "numeric", "size": 5, "class": "hhmm"}
        ),
    )


class HolidayForm(forms.Form):
    date = forms.DateField(label="Date", widget=_date_input())
    name = forms.CharField(label="Name", required=False, max_length=100)


# ----------------------------------------------------------------------------- lockdown, alarms


class LockdownForm(forms.Form):
    site = forms.CharField(widget=forms.HiddenInput)
    confirm = forms.CharField(
        label="Type the site code to confirm",
        max_length=30,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    reason = forms.CharField(
        label="Reason (for the ledger)",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "For example: suspicious parcel at the dock"}),
    )


class LiftForm(forms.Form):
    site = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason (for the ledger)",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "For example: all clear from the police"}),
    )


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label="Note", required=False, max_length=500)


def day_bounds(since: date | None, until: date | None, zone: Any) -> tuple[Any, Any]:
    """Local calendar days as an aware half-open range: ``until`` is included, whole."""
    start = datetime.combine(since, datetime.min.time(), tzinfo=zone) if since else None
    end = (
        datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        if until
        else None
    )
    return start, end
