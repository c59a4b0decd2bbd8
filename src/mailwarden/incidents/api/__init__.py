"""The incidents app's API: one router made of a sub-router per topic."""

from ninja import Router

from mailwarden.incidents.api import (
    alarms,
    broadcasts,
    cap,
    delivery,
    escalation,
    exercises,
    incidents,
    playbooks,
)

router = Router(tags=["incidents"])
router.add_router("", alarms.router)
router.add_router("", cap.router)
router.add_router("", exercises.router)
router.add_router("", delivery.router)
router.add_router("", incidents.router)
router.add_router("", playbooks.router)
router.add_router("", broadcasts.router)
router.add_router("", escalation.router)
