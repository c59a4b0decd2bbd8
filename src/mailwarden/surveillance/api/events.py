"""Video events in the API: list, read, evidence, acknowledge or mark as a false positive."""

from __future__ import annotations

from ninja import Router

router = Router()
