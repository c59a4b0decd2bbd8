"""Which stored files the risk app still uses, so no other app's retention deletes them."""

from __future__ import annotations

from collections.abc import Collection

from mailwarden.risk.models import FindingPhoto


def media_in_use(digests: Collection[str]) -> set[str]:
    """The ``media_in_use`` hook: findings' photos."""
    found = FindingPhoto.objects.filter(sha256__in=list(digests))
    return set(found.values_list("sha256", flat=True))
