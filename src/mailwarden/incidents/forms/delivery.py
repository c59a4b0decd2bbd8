"""Console forms of message delivery."""

from __future__ import annotations

from django import forms


class EndpointForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=60,
        help_text="How messages address it: lower-case letters, digits, - and _.",
    )
    url = forms.CharField(
        label="URL", max_length=500, widget=forms.TextInput(attrs={"inputmode": "url"})
    )
    secret = forms.CharField(
        label="Secret",
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="16 characters or more. Stored, and never shown again.",
    )
    secret_env = forms.CharField(
        label="Or the environment variable that holds it",
        required=False,
        max_length=100,
        help_text="Wins over a stored secret, e.g. MW_WEBHOOK_OPS.",
    )
    active = forms.BooleanField(label="Active", required=False, initial=True)
