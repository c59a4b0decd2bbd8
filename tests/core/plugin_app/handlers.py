"""Imported by GadgetConfig.ready, as an app's outbox handlers are."""

IMPORTED = True
