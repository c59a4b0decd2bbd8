"""The risk app's API: one router made of a sub-router per topic."""

from ninja import Router

from mailwarden.risk.api import assessments, controls, findings, reports, rules, treatments

router = Router(tags=["risk"])
router.add_router("", assessments.router)
router.add_router("", treatments.router)
router.add_router("", findings.router)
router.add_router("", rules.router)
router.add_router("", controls.router)
router.add_router("", reports.router)
