"""Which stored files the training app still uses, so no other app's retention deletes them."""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Model

from mailwarden.training.models import Module, TipTrial

_REFERENCES: tuple[tuple[type[Model], str], ...] = (
    (Module, "image_sha256"),
    (Module, "video_sha256"),
    (TipTrial, "image_sha256"),
)


def media_in_use(digests: Collection[str]) -> set[str]:
    """The ``media_in_use`` hook: course modules' images and videos, and TIP trials' images."""
    wanted = list(digests)
    used: set[str] = set()
    for model, column in _REFERENCES:
        found = model._default_manager.filter(**{f"{column}__in": wanted})
        used |= set(found.values_list(column, flat=True))
    return used
