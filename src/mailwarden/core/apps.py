from mailwarden.core.plugins import MailwardenApp, NavEntry
from mailwarden.core.roles import MANAGE_SECURITY, STAFF, Role


class CoreConfig(MailwardenApp):
    name = "mailwarden.core"
    label = "core"
    verbose_name = "mailwarden core"

    nav = (
        NavEntry("security_policy", "Security policy", "shield", MANAGE_SECURITY, order=110),
        NavEntry(
            "people",
            "People",
            "person",
            # Administrators only (MANAGE_PEOPLE names no other role).
            (Role.ADMIN,),
            order=120,
            pages=("person", "person_action"),
        ),
        NavEntry(
            # Everyone on the staff issues tokens for their own scripts; admins for devices too.
            "api_tokens",
            "API tokens",
            "key",
            (*STAFF,),
            order=125,
            pages=("api_token_revoke",),
        ),
    )
    urls = "mailwarden.core.urls"
    api_router = "mailwarden.core.api.router"
    # The sign-in signal receivers, which put sign-ins on the ledger.
    # The checkpoint module's handler sends signed checkpoints to the witnesses.
    event_handlers = ("mailwarden.core.audit", "mailwarden.core.checkpoints")
    periodic_jobs = (
        "mailwarden.core.tasks",
        "mailwarden.core.checkpoints",
        "mailwarden.core.backup.schedule",
    )
    demo_seeder = "mailwarden.core.demo.StaffDemo"

    def ready(self) -> None:
        super().ready()
        from mailwarden.core import checks  # noqa: F401  (registers the deployment checks)
