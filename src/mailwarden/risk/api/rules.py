"""The risk API: rules."""

from ninja import Router

router = Router()
