"""Cameras in the API: list, add, change, and what is drawn on them."""

from __future__ import annotations

from ninja import Router

router = Router()
