from typing import Any

from django.db.models.signals import post_migrate

from mailwarden.core.plugins import MailwardenApp, NavEntry

_PERMISSIONS = "mailwarden.training.permissions"


class TrainingConfig(MailwardenApp):
    name = "mailwarden.training"
    label = "training"
    verbose_name = "Training"

    nav = (
        NavEntry(
            "training:my",
            "My training",
            "graduation",
            f"{_PERMISSIONS}.LEARN",
            order=88,
            pages=("training:course", "training:module", "training:quiz", "training:certificates"),
            admin_too=False,
        ),
        NavEntry(
            "training:tip",
            "Screener training",
            "target",
            f"{_PERMISSIONS}.TIP_TRAINING",
            order=45,
            pages=("training:tip_session",),
        ),
        NavEntry(
            "training:compliance",
            "Training compliance",
            "chart",
            f"{_PERMISSIONS}.VIEW_COMPLIANCE",
            order=102,
            pages=("training:courses", "training:assignments", "training:course_admin"),
        ),
        NavEntry(
            "training:proficiency",
            "Screener proficiency",
            "chart",
            f"{_PERMISSIONS}.VIEW_COMPLIANCE",
            order=103,
            pages=("training:screener", "training:tip_policy"),
        ),
        NavEntry(
            "training:parcels",
            "Test parcels",
            "package",
            f"{_PERMISSIONS}.VIEW_TEST_PARCELS",
            order=104,
            pages=("training:parcel",),
        ),
    )
    urls = "mailwarden.training.urls"
    url_prefix = "training/"
    api_router = "mailwarden.training.api.router"
    # Enrolment from assignment rules, renewals and reminders of expiry.
    periodic_jobs = ("mailwarden.training.services.assignments",)
    media_in_use = "mailwarden.training.media_refs.media_in_use"
    # Drills count as participation; test parcels are followed through intake and screening.
    event_handlers = (
        "mailwarden.training.handlers.drills",
        "mailwarden.training.handlers.parcels",
    )
    # Certificates gate screening decisions and intake; test parcels are never handed over.
    duty_gate = "mailwarden.training.gates.gate"
    # Live threat image projection on the screening workstation.
    image_projector = "mailwarden.training.services.tip_live.PROJECTOR"
    demo_seeder = "mailwarden.training.demo.TrainingDemo"

    def ready(self) -> None:
        super().ready()
        # The shipped courses are there after every `mailwarden migrate` (and after a test
        # database is flushed), kept up to date with the content folder.
        post_migrate.connect(_install_shipped, sender=self)


def _install_shipped(sender: Any, **kwargs: Any) -> None:
    from django.db import connections

    from mailwarden.training.models import Course, Question
    from mailwarden.training.services.courses import install_shipped

    using = kwargs.get("using", "default")
    # A partial migrate (another app to an early state) may leave these tables unmade.
    tables = set(connections[using].introspection.table_names())
    if using == "default" and {Course._meta.db_table, Question._meta.db_table} <= tables:
        install_shipped()
