"""Forms of the shared console pages, and the bridge from a service's refusal to a form error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from mailwarden.core.errors import ServiceError
from mailwarden.core.roles import Role


def add_service_error(
    form: forms.BaseForm, exc: ServiceError, aliases: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal next to the field it names, or above the form when none fits."""
    field = (aliases or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


FieldT = TypeVar("FieldT", bound=forms.Field)


def form_field(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """The form's field ``name`` as the kind the form declares it, to set its choices or queryset.

    ``form.fields`` maps names to plain ``Field``s; a field of another kind is a programming error.
    """
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(
            f"{type(form).__name__}.{name} is a {type(field).__name__}, not a {kind.__name__}"
        )
    return field


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        )
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"


class TotpForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not (token.isdigit() and len(token) == 6):
            raise forms.ValidationError("enter the 6 digits your app shows")
        return token


class SecurityPolicyForm(forms.Form):
    """One tick box per role: does signing in with that role need a second factor?"""

    def __init__(self, *args: Any, policy: Mapping[Role, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for role in Role:
            self.fields[role.value] = forms.BooleanField(
                label=role.title, required=False, initial=policy[role]
            )

    def changes(self, policy: Mapping[Role, bool]) -> Iterator[tuple[Role, bool]]:
        for role in Role:
            wanted = bool(self.cleaned_data.get(role.value))
            if wanted != policy[role]:
                yield role, wanted


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, role.title) for role in Role]


class PersonForm(forms.Form):
    """A new person: who they are, their first password and their roles."""

    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocapitalize": "none"})
    )
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=254, required=False)
    password = forms.CharField(
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Their first password; they can change it once signed in.",
    )
    roles = forms.MultipleChoiceField(
        choices=_role_choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class PersonDetailsForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(max_length=254, required=False)


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=_role_choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class DeactivateForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, label="Why (for the ledger)")


class TokenForm(forms.Form):
    """A token for a device, or one that acts for the person issuing it (never for another)."""

    FOR_ME = "me"
    FOR_DEVICE = "device"

    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(choices=_role_choices)
    acts_for = forms.ChoiceField(
        label="Acts for",
        choices=[(FOR_DEVICE, "A device"), (FOR_ME, "Me (my own scripts)")],
        widget=forms.RadioSelect,
        initial=FOR_DEVICE,
        help_text="A token that acts for a person is issued by that person, signed in.",
    )
    device = forms.CharField(max_length=100, required=False, help_text="For a device token.")
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, devices: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not devices:
            # Device tokens are for administrators; anyone else issues tokens for themselves.
            acts_for = form_field(self, "acts_for", forms.ChoiceField)
            acts_for.choices = [(self.FOR_ME, "Me (my own scripts)")]
            acts_for.initial = self.FOR_ME
            del self.fields["device"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("acts_for") == self.FOR_DEVICE and not (data.get("device") or "").strip():
            self.add_error("device", "name the device, or issue the token for yourself")
        return data
