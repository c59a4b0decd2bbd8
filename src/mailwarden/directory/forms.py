"""Console forms for the directory: sites, locations and the recipient import."""

from __future__ import annotations

import zoneinfo

from django import forms

from mailwarden.directory.models import LocationKind


def _timezones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class SiteForm(forms.Form):
    code = forms.SlugField(label="Code", max_length=30, help_text="Short, unique, never changes.")
    name = forms.CharField(label="Name", max_length=120)
    timezone = forms.ChoiceField(label="Time zone", choices=_timezones, initial="UTC")
    address = forms.CharField(
        label="Address", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SiteEditForm(SiteForm):
    code = None  # type: ignore[assignment]


class LocationForm(forms.Form):
    code = forms.SlugField(label="Code", max_length=40)
    name = forms.CharField(label="Name", max_length=120)
    kind = forms.ChoiceField(label="Kind", choices=LocationKind.choices)


class RecipientImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )
