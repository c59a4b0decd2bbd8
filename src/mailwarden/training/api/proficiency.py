"""API: screener proficiency and live TIP settings (to come)."""

from ninja import Router

router = Router()
