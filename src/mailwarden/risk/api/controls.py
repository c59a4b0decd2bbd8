"""The risk API: controls."""

from ninja import Router

router = Router()
