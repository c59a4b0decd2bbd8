"""The risk app's API: one router made of a sub-router per topic."""

from ninja import Router

router = Router(tags=["risk"])
