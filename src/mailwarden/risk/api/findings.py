"""The risk API: findings."""

from ninja import Router

router = Router()
