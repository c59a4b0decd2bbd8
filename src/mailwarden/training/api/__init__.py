"""The training app's API: one router made of a sub-router per topic."""

from ninja import Router

from mailwarden.training.api import compliance, courses, parcels, proficiency, tip

router = Router(tags=["training"])
router.add_router("", courses.router)
router.add_router("", compliance.router)
router.add_router("", tip.router)
router.add_router("", parcels.router)
router.add_router("", proficiency.router)
