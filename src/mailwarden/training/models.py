"""The training app's tables: courses and their modules and question banks, assignment rules,
enrolments, quiz attempts, certificates, drill participation, threat-image-projection (TIP)
trials, and planted test parcels (docs/training.md).

Rows change only through :mod:`mailwarden.training.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailwarden.directory.models import Department, Recipient, Site

LABEL_LENGTH = 150  # an actor's label, as the ledger stores it


class CourseDuty(models.TextChoices):
    """The duty a course's certificate gates (core.duties), if any."""

    NONE = "", "None"
    SCREENING = "screening", "Recording screening decisions (refused without it)"
    INTAKE = "intake", "Logging mail at intake (warned without it)"


class Course(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    summary = models.TextField(blank=True)
    duty = models.CharField(max_length=12, choices=CourseDuty.choices, blank=True, default="")
    pass_mark = models.PositiveSmallIntegerField(default=80)  # percent, per module quiz
    valid_days = models.PositiveIntegerField(default=365)
    # A new enrolment opens this long before the certificate expires, with a reminder.
    renew_within_days = models.PositiveSmallIntegerField(default=30)
    # Screener certification: at least this many TIP trials behind the person, with at least
    # this d′, before the certificate is issued. None: no TIP requirement.
    min_tip_trials = models.PositiveIntegerField(null=True, blank=True)
    min_dprime = models.FloatField(null=True, blank=True)
    # A short course given as feedback after a planted test parcel.
    refresher = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    # Shipped with mailwarden (content/), rather than written at this site.
    shipped = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Module(models.Model):
    """One part of a course: text (Markdown), optionally an image and a video, then a quiz of
    ``quiz_size`` questions drawn at random from the course's bank in ``quiz_category``."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120)
    body = models.TextField()
    image_sha256 = models.CharField(max_length=64, blank=True)
    video_sha256 = models.CharField(max_length=64, blank=True)
    quiz_category = models.SlugField(max_length=40)
    quiz_size = models.PositiveSmallIntegerField(default=5)

    class Meta:
        ordering = ["course", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="module_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.course.slug} {self.position}: {self.title}"


class Question(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    category = models.SlugField(max_length=40)
    text = models.TextField()
    choices = models.JSONField(default=list)  # list[str]
    correct = models.JSONField(default=list)  # indices into choices: one or more
    explanation = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["course", "category", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class Assignment(models.Model):
    """A rule: everyone with this role, in this department, at this site (each optional) is
    enrolled in the course, due ``due_days`` after enrolment."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(max_length=40, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    due_days = models.PositiveSmallIntegerField(default=30)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=LABEL_LENGTH)

    class Meta:
        ordering = ["course", "id"]

    def __str__(self) -> str:
        return f"assignment {self.pk} of {self.course.slug}"


class EnrolmentStatus(models.TextChoices):
    ASSIGNED = "assigned", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_ENROLMENT = Q(status__in=[EnrolmentStatus.ASSIGNED, EnrolmentStatus.IN_PROGRESS])


class Enrolment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrolments"
    )
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolments"
    )
    reason = models.CharField(max_length=200)  # "assigned to screeners", "renewal", ...
    status = models.CharField(
        max_length=12, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ASSIGNED
    )
    enrolled_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            # one open enrolment per person and course
            models.UniqueConstraint(
                fields=["course", "user"], condition=OPEN_ENROLMENT, name="enrolment_open_unique"
            )
        ]

    def __str__(self) -> str:
        return f"enrolment {self.pk}: {self.user_id} in {self.course_id}"


class QuizAttempt(models.Model):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attempts")
    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="attempts")
    # The questions drawn, with each one's choices in the order shown:
    # [{"question": id, "order": [2, 0, 1, 3]}, ...]
    questions = models.JSONField(default=list)
    answers = models.JSONField(default=list)  # per question, the indices chosen (as shown)
    score = models.PositiveSmallIntegerField(null=True, blank=True)  # percent
    passed = models.BooleanField(null=True, blank=True)
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]


class Certificate(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates"
    )
    enrolment = models.OneToOneField(
        Enrolment, null=True, blank=True, on_delete=models.SET_NULL, related_name="certificate"
    )
    # What the public verification page looks up; unguessable, grouped for reading aloud.
    code = models.CharField(max_length=24, unique=True)
    holder_name = models.CharField(max_length=LABEL_LENGTH)
    score = models.PositiveSmallIntegerField()
    # For a screener certificate: the d′ and trials it was issued on.
    dprime = models.FloatField(null=True, blank=True)
    tip_trials = models.PositiveIntegerField(null=True, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["user", "course", "expires_at"])]

    def __str__(self) -> str:
        return f"certificate {self.code}"


class Participation(models.Model):
    """Training that happened outside a course: taking part in an incidents drill."""

    kind = models.CharField(max_length=20, default="drill")
    # The exercise incident's reference, so a person counts once per drill.
    ref = models.CharField(max_length=80)
    title = models.CharField(max_length=200)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    role_played = models.CharField(max_length=200, blank=True)  # "answered the roll call"
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "ref", "user"],
                condition=Q(user__isnull=False),
                name="participation_user_unique",
            ),
            models.UniqueConstraint(
                fields=["kind", "ref", "recipient"],
                condition=Q(user__isnull=True),
                name="participation_recipient_unique",
            ),
        ]


# ----------------------------------------------------------------------------- TIP


class TipMode(models.TextChoices):
    TRAINING = "training", "Training session"
    LIVE = "live", "Live, on the screening workstation"


class TipSession(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    size = models.PositiveSmallIntegerField()
    # Share of images that hold a threat, and the categories drawn from.
    threat_share = models.FloatField(default=0.5)
    categories = models.JSONField(default=list)
    seed = models.BigIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]


class TipOutcome(models.TextChoices):
    HIT = "hit", "Hit"
    MISS = "miss", "Miss"
    FALSE_ALARM = "false_alarm", "False alarm"
    CORRECT_REJECTION = "correct_rejection", "Correct rejection"


class TipTrial(models.Model):
    """One image shown to a screener: with a projected threat (a signal trial) or without (a
    noise trial, training mode only), and what they answered."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=10, choices=TipMode.choices)
    session = models.ForeignKey(
        TipSession, null=True, blank=True, on_delete=models.CASCADE, related_name="trials"
    )
    position = models.PositiveSmallIntegerField(default=0)  # within the session
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Live: the real item and scan whose image carried the projection.
    item_uid = models.CharField(max_length=16, blank=True, db_index=True)
    scan_id = models.BigIntegerField(null=True, blank=True)
    # The threat's category (knife, gun, ied, explosive) or "" for a noise trial.
    category = models.CharField(max_length=20, blank=True)
    threat_label = models.CharField(max_length=40, blank=True)
    # viewpoint, superposition, complexity and the level they came from
    difficulty = models.JSONField(default=dict)
    # The threat's box as fractions of the image: [x0, y0, x1, y1].
    bbox = models.JSONField(null=True, blank=True)
    background = models.CharField(max_length=20)  # "simulated" or "cleared-scan"
    image_sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    presented_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    response = models.CharField(max_length=10, blank=True)  # "threat" or "clear"
    mark = models.JSONField(null=True, blank=True)  # [x, y] fractions, where they clicked
    outcome = models.CharField(max_length=20, choices=TipOutcome.choices, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-presented_at", "-id"]
        indexes = [models.Index(fields=["user", "answered_at"])]


class TipLevel(models.Model):
    """Where a screener stands on the adaptive ladder for one threat category."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=20)
    level = models.PositiveSmallIntegerField(default=1)
    streak = models.SmallIntegerField(default=0)  # hits in a row (+) or misses in a row (-)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="tip_level_unique")
        ]


class TipSitePolicy(models.Model):
    """Live TIP at a site's screening workstations. A site without a row projects nothing."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, related_name="tip_policy")
    enabled = models.BooleanField(default=False)
    rate_percent = models.FloatField(default=3.0)  # share of opened items that get a projection
    categories = models.JSONField(default=list)  # empty: every category
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=LABEL_LENGTH)


# ----------------------------------------------------------------------------- test parcels


class PlantedStatus(models.TextChoices):
    REGISTERED = "registered", "Registered, not yet arrived"
    RECEIVED = "received", "Logged at intake"
    SCORED = "scored", "Screened and scored"
    STOPPED = "stopped", "Stopped at hand-over"
    WITHDRAWN = "withdrawn", "Withdrawn"


class PlantedParcel(models.Model):
    """A real parcel a security manager prepared with chosen suspicious-mail indicators and sent
    through the mailroom unannounced, recognised by its barcode."""

    barcode = models.CharField(max_length=64, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    indicators = models.JSONField(default=list)  # screening indicator codes planted
    expected_tier = models.CharField(max_length=10)
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=PlantedStatus.choices, default=PlantedStatus.REGISTERED
    )
    registered_by = models.CharField(max_length=LABEL_LENGTH)
    registered_at = models.DateTimeField()
    # What happened to it
    item_uid = models.CharField(max_length=16, blank=True, db_index=True)
    received_at = models.DateTimeField(null=True, blank=True)
    clerk = models.CharField(max_length=LABEL_LENGTH, blank=True)
    clerk_user_id = models.BigIntegerField(null=True, blank=True)
    flagged_at_intake = models.BooleanField(null=True, blank=True)
    decision_id = models.BigIntegerField(null=True, blank=True)
    screener = models.CharField(max_length=LABEL_LENGTH, blank=True)
    screener_user_id = models.BigIntegerField(null=True, blank=True)
    tier_reached = models.CharField(max_length=10, blank=True)
    indicators_ticked = models.JSONField(default=list)
    seconds_to_decision = models.PositiveIntegerField(null=True, blank=True)
    seconds_on_item = models.PositiveIntegerField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    feedback_sent_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.CharField(max_length=LABEL_LENGTH, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]

    def __str__(self) -> str:
        return f"test parcel {self.barcode}"
