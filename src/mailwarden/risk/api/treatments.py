"""The risk API: treatments."""

from ninja import Router

router = Router()
