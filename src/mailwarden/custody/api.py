"""Custody API: sites, recipients, intake, transitions, pickup and custody records."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["custody"])
