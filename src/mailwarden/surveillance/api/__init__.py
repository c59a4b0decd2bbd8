"""The surveillance app's API: one router made of a sub-router per topic."""

from ninja import Router

from mailwarden.surveillance.api import cameras, events, worker

router = Router(tags=["surveillance"])
router.add_router("", cameras.router)
router.add_router("", events.router)
router.add_router("", worker.router)
