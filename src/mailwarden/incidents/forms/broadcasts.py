"""Console forms of site messages: the message, and the roll-call answer's note."""

from __future__ import annotations

from typing import Any

from django import forms

from mailwarden.directory.models import Site
from mailwarden.incidents.models import BroadcastKind
from mailwarden.incidents.services import broadcasts as services


class BroadcastForm(forms.Form):
    site = forms.ChoiceField(label="Site", choices=())
    kind = forms.ChoiceField(label="Message", choices=BroadcastKind.choices)
    headline = forms.CharField(label="Headline", max_length=services.MAX_HEADLINE)
    text = forms.CharField(
        label="Instructions",
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What people must do. Keep it short: it also goes out by SMS.",
    )
    incident = forms.IntegerField(
        label="Incident ID",
        required=False,
        min_value=1,
        help_text="Optional: the incident it is for.",
    )
    resend_minutes = forms.IntegerField(
        label="Re-send to those who have not answered every (minutes)",
        min_value=0,
        max_value=1440,
        initial=services.DEFAULT_RESEND_MINUTES,
        help_text="0: only when you press Re-send.",
    )
    max_rounds = forms.IntegerField(
        label="At most, sendings in all",
        min_value=1,
        max_value=services.ROUND_LIMIT,
        initial=services.DEFAULT_MAX_ROUNDS,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [  # type: ignore[attr-defined]
            (s.code, s.name) for s in Site.objects.order_by("name")
        ]

    def request(self) -> services.BroadcastRequest:
        data = self.cleaned_data
        return services.BroadcastRequest(
            site=data["site"],
            kind=data["kind"],
            headline=data["headline"],
            text=data["text"],
            incident=data.get("incident"),
            resend_minutes=data["resend_minutes"],
            max_rounds=data["max_rounds"],
        )


class AnswerDetailsForm(forms.Form):
    answer = forms.ChoiceField(
        choices=[("safe", "I am safe"), ("need_help", "I need help")], widget=forms.RadioSelect
    )
    note = forms.CharField(
        label="Anything to add (optional)", max_length=services.MAX_NOTE, required=False
    )
    location = forms.CharField(
        label="Where you are (optional)", max_length=services.MAX_LOCATION, required=False
    )
