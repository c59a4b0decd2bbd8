"""API: compliance (to come)."""

from ninja import Router

router = Router()
