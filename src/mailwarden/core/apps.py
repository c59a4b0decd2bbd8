from mailwarden.core.plugins import MailwardenApp, NavEntry
from mailwarden.core.roles import MANAGE_SECURITY


class CoreConfig(MailwardenApp):
    name = "mailwarden.core"
    label = "core"
    verbose_name = "mailwarden core"

    nav = (NavEntry("security_policy", "Security policy", "shield", MANAGE_SECURITY, order=110),)
    urls = "mailwarden.core.urls"
    api_router = "mailwarden.core.api.router"
    # The sign-in signal receivers, which put sign-ins on the ledger.
    # The checkpoint module's handler sends signed checkpoints to the witnesses.
    event_handlers = ("mailwarden.core.audit", "mailwarden.core.checkpoints")
    periodic_jobs = ("mailwarden.core.tasks", "mailwarden.core.checkpoints")
    demo_seeder = "mailwarden.core.demo.StaffDemo"

    def ready(self) -> None:
        super().ready()
        from mailwarden.core import checks  # noqa: F401  (registers the deployment checks)
