"""The incidents app's API: one router made of a sub-router per topic."""

from ninja import Router

from mailwarden.incidents.api import alarms, escalation

router = Router(tags=["incidents"])
router.add_router("", alarms.router)
router.add_router("", escalation.router)
