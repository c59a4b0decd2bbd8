"""API: courses (to come)."""

from ninja import Router

router = Router()
