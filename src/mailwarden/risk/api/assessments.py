"""The risk API: assessments."""

from ninja import Router

router = Router()
