"""Video analytics without Django: capture, motion gating, candidates, tracking, stationary
objects, zone rules and evidence (docs/vision.md).

It takes numbers, arrays and pydantic objects and returns them, so it runs alone in the
``mailwarden vision`` commands, in tests and in benchmarks.
"""
