"""System checks of mailwarden's own settings; ``mailwarden check --deploy`` runs them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core import checks

from mailwarden.config import ConfigError, get_settings
from mailwarden.core.signednote import NoteError, load_signer


@checks.register(checks.Tags.security, deploy=True)
def ledger_key(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The checkpoint signing key must be a readable Ed25519 key named by MW_LEDGER_KEY_FILE."""
    settings = get_settings()
    try:
        path = settings.ledger_key_path()
    except ConfigError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Create one with `mailwarden ledger generate-key FILE --name ORIGIN`, "
                "outside the data folder and the database's reach.",
                id="mailwarden.E001",
            )
        ]
    try:
        load_signer(path)
    except NoteError as exc:
        if settings.env != "production" and not path.exists():
            return []  # created on first use in development
        return [checks.Error(str(exc), id="mailwarden.E002")]
    return []
