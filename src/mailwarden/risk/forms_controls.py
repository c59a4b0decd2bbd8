"""Console forms for controls. Field names follow the service arguments, so a refusal's
``field`` lands next to its input (the expectation's bounds as ``expectation_min``/``_max``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from mailwarden.core import clock
from mailwarden.core.forms import form_field
from mailwarden.directory.models import Site
from mailwarden.risk.models import ControlStatus
from mailwarden.risk.queries.controls import link_kinds, measure_list

DEFAULT_DAYS = 30
# A refusal naming the expectation or one of its bounds shows next to the bound's input.
ALIASES = {
    "expectation": "expectation_min",
    "expectation.min": "expectation_min",
    "expectation.max": "expectation_max",
}


class ControlForm(forms.Form):
    title = forms.CharField(label="Control", max_length=200)
    claimed = forms.ChoiceField(label="Claimed status", choices=ControlStatus.choices)
    description = forms.CharField(
        label="What it is and how it works",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    link_kind = forms.ChoiceField(label="Implemented in mailwarden by", required=False)
    link_ref = forms.CharField(
        label="Reference (a door's code, a course's slug, ...)", required=False, max_length=120
    )
    measure = forms.ChoiceField(label="Live evidence", required=False)
    expectation_min = forms.FloatField(label="At least", required=False)
    expectation_max = forms.FloatField(label="At most", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "link_kind", forms.ChoiceField).choices = [("", "Nothing")] + [
            (k.slug, k.title) for k in link_kinds()
        ]
        form_field(self, "measure", forms.ChoiceField).choices = [("", "None")] + [
            (m.slug, f"{m.title} ({m.unit})") for m in measure_list()
        ]

    def expectation(self) -> dict[str, float] | None:
        """The bounds given, or None for the measure's default."""
        data = self.cleaned_data
        bounds = {
            key: float(data[f"expectation_{key}"])
            for key in ("min", "max")
            if data.get(f"expectation_{key}") is not None
        }
        return bounds or None


class NewControlForm(ControlForm):
    site = forms.ChoiceField(label="Site")

    field_order = ["site", "title", "claimed", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "site", forms.ChoiceField).choices = list(
            Site.objects.order_by("name").values_list("code", "name")
        )


class PeriodForm(forms.Form):
    start = forms.DateField(
        label="From", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    @classmethod
    def initial_dates(cls) -> dict[str, date]:
        today = clock.now().date()
        return {"start": today - timedelta(days=DEFAULT_DAYS), "end": today}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "the period must end on or after its first day")
        return data

    def period(self, site: Site) -> tuple[datetime, datetime]:
        """The chosen days as moments at the site: from the first day's midnight to the end of
        the last day."""
        zone = ZoneInfo(site.timezone)
        start = datetime.combine(self.cleaned_data["start"], time(), zone)
        end = datetime.combine(self.cleaned_data["end"] + timedelta(days=1), time(), zone)
        return start, end


class SitePeriodForm(PeriodForm):
    site = forms.ChoiceField(label="Site")

    field_order = ["site", "start", "end"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "site", forms.ChoiceField).choices = list(
            Site.objects.order_by("name").values_list("code", "name")
        )
