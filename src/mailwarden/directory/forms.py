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


class RetentionForm(forms.Form):
    """A site's own retention rules; an empty field keeps that content forever."""

    media_days = forms.IntegerField(
        label="Photos, X-ray images and signatures: days after the item's last step",
        required=False,
        min_value=1,
        max_value=36500,
    )
    access_event_months = forms.IntegerField(
        label="Access events: months", required=False, min_value=1, max_value=1200
    )
    departed_person_days = forms.IntegerField(
        label="Departed people: days after deactivation, then anonymised",
        required=False,
        min_value=1,
        max_value=36500,
    )


class LocationForm(forms.Form):
    code = forms.SlugField(label="Code", max_length=40)
    name = forms.CharField(label="Name", max_length=120)
    kind = forms.ChoiceField(label="Kind", choices=LocationKind.choices)


class RecipientImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )


def _site_choices() -> list[tuple[str, str]]:
    from mailwarden.directory.models import Site

    return [("", "No site"), *((s.code, s.name) for s in Site.objects.order_by("name"))]


class RecipientForm(forms.Form):
    """A person's details; the employee ID is given once, when the person is added."""

    employee_id = forms.CharField(
        label="Employee ID", max_length=40, help_text="Unique; it never changes."
    )
    first_name = forms.CharField(label="First name", max_length=80)
    last_name = forms.CharField(label="Last name", max_length=80)
    preferred_name = forms.CharField(
        label="Preferred name",
        max_length=80,
        required=False,
        help_text="Shown instead of the first name.",
    )
    email = forms.EmailField(label="Email", max_length=254)
    phone = forms.CharField(label="Phone", max_length=20, required=False)
    department = forms.CharField(label="Department", max_length=120, required=False)
    mail_stop = forms.CharField(label="Mail stop", max_length=40, required=False)
    site = forms.ChoiceField(label="Site", choices=_site_choices, required=False)
    manager_employee_id = forms.CharField(
        label="Manager's employee ID", max_length=40, required=False
    )


class RecipientEditForm(RecipientForm):
    employee_id = None  # type: ignore[assignment]


class RecipientDeactivateForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=500, required=False, help_text="Left the company, moved site…"
    )
