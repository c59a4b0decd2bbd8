"""Console forms for test parcels. Field names follow the service arguments, so a refusal's
``field`` lands next to its input."""

from __future__ import annotations

from typing import Any

from django import forms

from mailwarden.core.forms import form_field
from mailwarden.directory.models import Site
from mailwarden.screening.models import Indicator


class ParcelForm(forms.Form):
    barcode = forms.CharField(
        label="Barcode (carrier tracking number on the label)",
        max_length=80,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    site = forms.ChoiceField(label="Sent to site")
    indicators = forms.MultipleChoiceField(
        label="Signs it was prepared with",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "choose at least one sign"},
    )
    notes = forms.CharField(
        label="Notes (only managers and auditors see them)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "site", forms.ChoiceField).choices = list(
            Site.objects.order_by("name").values_list("code", "name")
        )
        form_field(self, "indicators", forms.MultipleChoiceField).choices = list(
            Indicator.objects.order_by("position", "code").values_list("code", "label")
        )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label="Why is it withdrawn?", max_length=300)
