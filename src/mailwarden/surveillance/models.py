"""The surveillance app's tables: vision workers, cameras, their zones, lines and masks, and the
video events the workers report (docs/surveillance.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mailwarden.access.models import Door
from mailwarden.directory.models import Site


class VisionWorker(models.Model):
    """A ``mailwarden vision`` process. Its device token names it; it runs the cameras assigned
    to it and takes their configuration from the server."""

    name = models.SlugField(max_length=100, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="vision_workers")
    token_prefix = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class CameraState(models.TextChoices):
    UNKNOWN = "unknown", "Not reported yet"
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    ENDED = "ended", "Ended"


class Camera(models.Model):
    """A camera: an RTSP URL or a video file, watched by one worker.

    The password is held encrypted (``surveillance.secrets``) and never shown again; only the
    worker's token receives it, in its configuration.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cameras")
    name = models.SlugField(max_length=100, unique=True)
    label = models.CharField(max_length=120, blank=True)
    url = models.CharField(max_length=500)
    username = models.CharField(max_length=100, blank=True)
    password_secret = models.TextField(blank=True)
    worker = models.ForeignKey(
        VisionWorker, null=True, blank=True, on_delete=models.SET_NULL, related_name="cameras"
    )
    enabled = models.BooleanField(default=True)
    analysis_fps = models.FloatField(default=5.0)
    motion_gating = models.BooleanField(default=True)
    pre_roll_s = models.FloatField(default=3.0)
    post_roll_s = models.FloatField(default=3.0)
    created_at = models.DateTimeField()
    # What the worker last said about it.
    state = models.CharField(max_length=10, choices=CameraState.choices, default="unknown")
    state_reason = models.CharField(max_length=200, blank=True)
    state_at = models.DateTimeField(null=True, blank=True)
    last_frame_at = models.DateTimeField(null=True, blank=True)
    frames = models.BigIntegerField(default=0)
    corrupt_frames = models.BigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    snapshot = models.CharField(max_length=64, blank=True)
    snapshot_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site__code", "name"]

    def __str__(self) -> str:
        return self.label or self.name


class RegionKind(models.TextChoices):
    ZONE = "zone", "Zone"
    LINE = "line", "Door line"
    MASK = "mask", "Motion mask"


class Region(models.Model):
    """A zone (polygon), a door line (two points) or a motion mask (polygon) on a camera's
    picture. Points are fractions of the frame's width and height (contracts.vision)."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="regions")
    kind = models.CharField(max_length=4, choices=RegionKind.choices)
    name = models.CharField(max_length=100)
    # [[x, y], ...]; an empty list for a zone is the whole frame.
    points = models.JSONField(default=list)
    # For a line: which side, looking from its first point to its second, is inside.
    inside = models.CharField(max_length=5, default="left")
    door = models.ForeignKey(
        Door, null=True, blank=True, on_delete=models.SET_NULL, related_name="camera_lines"
    )
    # Rule dicts in the rules file's form (docs/vision.md), checked by the vision library.
    rules = models.JSONField(default=list)

    class Meta:
        ordering = ["camera", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "name"],
                condition=~models.Q(kind="mask"),
                name="region_name_per_camera",
            )
        ]

    def __str__(self) -> str:
        return f"{self.camera.name}/{self.name}"


class EventState(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    FALSE_POSITIVE = "false_positive", "False positive"
    # A door-line crossing a badge grant paid for: recorded, nobody needs to look.
    RECORDED = "recorded", "Recorded"


class VideoEvent(models.Model):
    """What a worker saw, with its evidence. ``key`` is the worker's outbox key."""

    key = models.UUIDField(unique=True)
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, related_name="events")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="video_events")
    worker = models.CharField(max_length=100)
    type = models.CharField(max_length=20)
    zone = models.CharField(max_length=100)
    door = models.ForeignKey(
        Door, null=True, blank=True, on_delete=models.SET_NULL, related_name="video_events"
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    frame = models.PositiveIntegerField(default=0)
    track = models.PositiveIntegerField(null=True, blank=True)
    bbox = models.JSONField(default=list)
    frame_size = models.JSONField(default=list)
    detail = models.JSONField(default=dict)
    snapshot = models.CharField(max_length=64, blank=True)
    clip = models.CharField(max_length=64, blank=True)
    clip_type = models.CharField(max_length=20, blank=True)
    # For a door-line entry: the access event (a badge grant) it was matched to.
    grant_event_id = models.BigIntegerField(null=True, blank=True, unique=True)
    # For a tailgating event: the crossing it was raised from.
    crossing = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="tailgating"
    )
    state = models.CharField(max_length=14, choices=EventState.choices, default="new")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_by_label = models.CharField(max_length=150, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # When the retention job removed the snapshot and clip, and the rule that did.
    evidence_purged_at = models.DateTimeField(null=True, blank=True)
    evidence_purged_by = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-occurred_at"], name="video_event_state"),
            models.Index(fields=["camera", "-occurred_at"], name="video_event_camera"),
            models.Index(fields=["door", "type", "occurred_at"], name="video_event_door"),
        ]

    def __str__(self) -> str:
        return f"{self.type} on {self.camera.name} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
