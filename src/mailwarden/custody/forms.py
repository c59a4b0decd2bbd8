"""Console forms for custody: intake, search, item actions, and pickup.

Field names follow the service arguments they feed, so a ServiceError's ``field`` lands next to
the right input without a mapping.
"""

from __future__ import annotations

from typing import Any

from django import forms

from mailwarden.core.forms import form_field
from mailwarden.custody.bulk import ACTION_LABELS, BulkAction
from mailwarden.custody.models import ItemKind
from mailwarden.custody.pickup import CODE_DIGITS
from mailwarden.custody.queries import ItemFilters, carrier_choices
from mailwarden.custody.states import State
from mailwarden.directory.models import Location, Site

# A bulk action's reason is written on every item's ledger entry, as a single move's is.
REASON_LIMIT_BULK = 500
_MM = {"min": 1, "max": 10_000_000, "inputmode": "numeric", "placeholder": "mm"}


class IntakeForm(forms.Form):
    site = forms.ChoiceField(label="Site")
    # These two are drawn by the template itself: they carry the HTMX wiring of the scan field
    # and of the recipient suggestions.
    tracking_number = forms.CharField(
        label="Barcode / tracking number", required=False, max_length=80
    )
    recipient_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    recipient_query = forms.CharField(label="Recipient", required=False, max_length=120)
    kind = forms.ChoiceField(
        label="Item type",
        choices=ItemKind.choices,
        initial=ItemKind.PARCEL,
        widget=forms.RadioSelect,
    )
    sender = forms.CharField(label="Sender", required=False, max_length=200)
    weight_g = forms.IntegerField(
        label="Weight (g)",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "g"}),
    )
    length_mm = forms.IntegerField(
        label="Length", required=False, min_value=1, widget=forms.NumberInput(attrs=_MM)
    )
    width_mm = forms.IntegerField(
        label="Width", required=False, min_value=1, widget=forms.NumberInput(attrs=_MM)
    )
    height_mm = forms.IntegerField(
        label="Height", required=False, min_value=1, widget=forms.NumberInput(attrs=_MM)
    )
    accountable = forms.BooleanField(label="Accountable (signed-for) item", required=False)
    suspicious = forms.BooleanField(label="Looks suspicious — screen first", required=False)
    photo = forms.ImageField(
        label="Photo of the item",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    # Shown once the number fails its carrier's rule: the clerk may log it anyway, saying why.
    unverified_reason = forms.CharField(
        label="Why log it anyway",
        required=False,
        max_length=300,
        help_text="For example: label torn, last digit smudged; or a carrier not in the list.",
        # Drawn only when the clerk is asked, so the cursor belongs there then.
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "maxlength": 300, "data-autofocus": True}
        ),
    )
    # Sent only by the "this is another item" button, never as a field of its own.
    confirm_duplicate = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site = form_field(self, "site", forms.ChoiceField)
        site.choices = list(Site.objects.order_by("name").values_list("code", "name"))
        if len(site.choices) == 1:
            # One site is the usual case; a select with one option would only be in the way.
            site.widget = forms.HiddenInput()
            site.initial = site.choices[0][0]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("recipient_id"):
            self.add_error("recipient_query", "choose the recipient from the suggestions")
        return data


class LabelPhotoForm(forms.Form):
    label_photo = forms.FileField(label="Photo of the shipping label")


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=120,
        widget=forms.SearchInput(
            attrs={
                "placeholder": "Item ID, tracking number, recipient name or email",
                "autocomplete": "off",
                "autofocus": True,
            }
        ),
    )
    received_from = forms.DateField(
        label="Arrived from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "enter a date such as 2026-03-31"},
    )
    received_to = forms.DateField(
        label="Arrived to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "enter a date such as 2026-03-31"},
    )
    carrier = forms.ChoiceField(
        label="Carrier",
        required=False,
        error_messages={"invalid_choice": "choose a carrier from the list"},
    )
    kind = forms.ChoiceField(
        label="Type",
        required=False,
        error_messages={"invalid_choice": "choose an item type from the list"},
    )
    state = forms.ChoiceField(
        label="State",
        required=False,
        error_messages={"invalid_choice": "choose a state from the list"},
    )
    site = forms.ChoiceField(
        label="Site",
        required=False,
        error_messages={"invalid_choice": "choose a site from the list"},
    )
    recipient = forms.CharField(
        label="Recipient",
        required=False,
        max_length=120,
        widget=forms.TextInput(
            attrs={"placeholder": "Name, email or employee ID", "autocomplete": "off"}
        ),
    )
    # Set by links from a person's page; the text field above is for typing.
    recipient_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "state", forms.ChoiceField).choices = [("", "Any state"), *State.choices]
        form_field(self, "kind", forms.ChoiceField).choices = [("", "Any type"), *ItemKind.choices]
        form_field(self, "carrier", forms.ChoiceField).choices = [
            ("", "Any carrier"),
            *carrier_choices(),
        ]
        sites = list(Site.objects.order_by("name").values_list("code", "name"))
        form_field(self, "site", forms.ChoiceField).choices = [("", "All sites"), *sites]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", "the end date is before the start date")
        return data

    def filters(self) -> ItemFilters:
        """The form's filters as the queries take them; only for a valid form."""
        data = self.cleaned_data
        return ItemFilters(
            state=data.get("state") or None,
            recipient_id=data.get("recipient_id") or None,
            recipient_query=data.get("recipient") or "",
            site_code=data.get("site") or None,
            carrier=data.get("carrier") or None,
            kind=data.get("kind") or None,
            received_from=data.get("received_from"),
            received_to=data.get("received_to"),
        )


class BulkForm(forms.Form):
    """A bulk action on the items ticked in the list; ``confirmed`` is set by the second step."""

    uid = forms.MultipleChoiceField(
        required=False,
        error_messages={"invalid_choice": "an item in the selection no longer exists"},
    )
    action = forms.ChoiceField(
        label="With the selected items",
        error_messages={
            "required": "choose what to do with the selected items",
            "invalid_choice": "choose an action from the list",
        },
    )
    location_code = forms.ChoiceField(
        label="Move to",
        required=False,
        error_messages={"invalid_choice": "choose a location from the list"},
    )
    reason = forms.CharField(label="Why (optional)", required=False, max_length=REASON_LIMIT_BULK)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, uids: list[str], actions: list[BulkAction], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "uid", forms.MultipleChoiceField).choices = [(u, u) for u in uids]
        form_field(self, "action", forms.ChoiceField).choices = [
            ("", "Choose an action"),
            ("labels", "Print labels (one PDF)"),
            *((a.value, ACTION_LABELS[a]) for a in actions),
        ]
        # A location code names the same kind of place at every site (shelf-a, dock), so one
        # choice moves items of several sites, each to its own site's place.
        places: dict[str, str] = {}
        for code, name in Location.objects.order_by("name").values_list("code", "name"):
            places.setdefault(code, name)
        self.place_names = {code: f"{name} ({code})" for code, name in places.items()}
        form_field(self, "location_code", forms.ChoiceField).choices = [
            ("", "Choose a location"),
            *self.place_names.items(),
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if not data.get("uid") and "uid" not in self.errors:
            self.add_error("uid", "tick at least one item first")
        if data.get("action") == "move" and not data.get("location_code"):
            self.add_error("location_code", "choose the location to move the items to")
        return data


REASON_LIMIT = 500
REASON_ERRORS = {
    "max_length": "the reason can be at most %(limit_value)d characters; it has %(show_value)d"
}


class TransitionForm(forms.Form):
    target = forms.ChoiceField(
        choices=State.choices, error_messages={"invalid_choice": "choose a state to move it to"}
    )
    reason = forms.CharField(
        required=False,
        max_length=REASON_LIMIT,
        error_messages=REASON_ERRORS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={"required": "reload the page and try again", "invalid": "reload the page"},
    )


class ClearReviewForm(forms.Form):
    note = forms.CharField(
        label="What you checked (optional)",
        required=False,
        max_length=300,
        error_messages={
            "max_length": "the note can be at most %(limit_value)d characters; "
            "it has %(show_value)d"
        },
    )


class LegalHoldForm(forms.Form):
    """Place or release an item's legal hold: a reason, and a tick to confirm (no script)."""

    reason = forms.CharField(
        label="Reason",
        max_length=300,
        error_messages={
            "required": "say why",
            "max_length": "the reason can be at most %(limit_value)d characters; "
            "it has %(show_value)d",
        },
    )
    confirm = forms.BooleanField(
        label="I confirm",
        error_messages={"required": "tick the box to confirm"},
    )


class MoveForm(forms.Form):
    location_code = forms.ChoiceField(
        label="New location",
        error_messages={
            "required": "choose a location at this site",
            "invalid_choice": "choose a location at this site",
        },
    )
    reason = forms.CharField(
        label="Why", required=False, max_length=REASON_LIMIT, error_messages=REASON_ERRORS
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        form_field(self, "location_code", forms.ChoiceField).choices = [
            (loc.code, f"{loc.name} ({loc.get_kind_display()})")
            for loc in Location.objects.filter(site=site).order_by("name")
        ]


class ScanForm(forms.Form):
    scan = forms.CharField(
        label="Scan the item label or the recipient's QR, or type the item ID",
        max_length=2000,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "characters",
            }
        ),
    )


class HandOverForm(forms.Form):
    method = forms.ChoiceField(
        label="Proof",
        choices=[("code", "Pickup code"), ("qr", "Recipient's QR"), ("signature", "Signature")],
        initial="code",
        widget=forms.RadioSelect,
    )
    code = forms.CharField(
        label="Pickup code",
        required=False,
        max_length=CODE_DIGITS,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "pattern": "[0-9]*",
                "placeholder": "6 digits",
            }
        ),
    )
    qr = forms.CharField(
        label="Scan the QR from the recipient's email",
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    signature = forms.CharField(required=False, widget=forms.HiddenInput)
    collected_by = forms.CharField(label="Collected by", required=False, max_length=150)

    def proof(self) -> str:
        return str(self.cleaned_data.get(self.cleaned_data["method"]) or "")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        method = data.get("method")
        if method and not data.get(method):
            message = {
                "code": "type the pickup code",
                "qr": "scan the recipient's QR",
                "signature": "ask the recipient to sign in the box",
            }[method]
            self.add_error(method, message)
        return data


class ManifestForm(forms.Form):
    """A carrier's advance manifest to import as expected parcels at a site."""

    site = forms.ChoiceField(label="Site")
    file = forms.FileField(
        label="Manifest (CSV file)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site = form_field(self, "site", forms.ChoiceField)
        site.choices = [(s.code, s.name) for s in Site.objects.order_by("name")]

    def clean_file(self) -> Any:
        from mailwarden.custody.manifests import MAX_BYTES

        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; a manifest may be at most {MAX_BYTES:,}."
            )
        return upload
