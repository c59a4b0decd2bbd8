"""Surveillance rules: cameras that are offline, and zones watched by no rule."""

from __future__ import annotations

from collections.abc import Iterator

from mailwarden.risk.rules import Context, Proposed, rule
from mailwarden.surveillance.models import CameraState, RegionKind
from mailwarden.surveillance.queries import cameras as queries


@rule("cameras-offline", "Cameras that are offline")
def cameras_offline(ctx: Context) -> Iterator[Proposed]:
    for camera in queries.cameras(ctx.site).filter(enabled=True):
        if camera.state not in (CameraState.OFFLINE, CameraState.ENDED):
            continue
        yield Proposed(
            subject=f"camera:{camera.pk}",
            title=f"Camera {camera} is {camera.get_state_display().lower()}",
            evidence={
                "camera": camera.name,
                "state": camera.state,
                "reason": camera.state_reason,
                "since": camera.state_at.isoformat() if camera.state_at else "",
                "last_frame_at": camera.last_frame_at.isoformat() if camera.last_frame_at else "",
            },
            suggested_treatment=(
                "Restore the camera's power, network or stream, and check its worker; until "
                "then cover its area another way."
            ),
            threat="unauthorised-access",
        )


@rule("zones-without-rules", "Camera zones watched by no rule")
def zones_without_rules(ctx: Context) -> Iterator[Proposed]:
    for camera in queries.cameras(ctx.site).filter(enabled=True):
        for region in queries.regions_of(camera):
            if region.kind != RegionKind.ZONE or region.rules:
                continue
            yield Proposed(
                subject=f"zone:{region.pk}",
                title=f"Zone {region.name} on camera {camera} has no rules",
                evidence={"camera": camera.name, "zone": region.name},
                suggested_treatment=(
                    "Add a rule to the zone (e.g. a person in the zone after hours, or "
                    "loitering), or delete the zone if it is not needed."
                ),
                threat="unauthorised-access",
            )
