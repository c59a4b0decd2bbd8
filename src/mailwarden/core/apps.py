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
    event_handlers = ("mailwarden.core.audit",)
    periodic_jobs = ("mailwarden.core.tasks",)
    demo_seeder = "mailwarden.core.demo.StaffDemo"
