from mailwarden.core.plugins import MailwardenApp, NavEntry


class ReportsConfig(MailwardenApp):
    name = "mailwarden.reports"
    label = "reports"
    verbose_name = "Reports"

    nav = (
        NavEntry(
            "reports:index",
            "Reports",
            "chart",
            "mailwarden.reports.permissions.VIEW_REPORTS",
            order=108,
        ),
    )
    urls = "mailwarden.reports.urls"
    url_prefix = "reports/"
    api_router = "mailwarden.reports.api.router"
    # The weekly summary to managers; importing the job registers the email's renderer too.
    periodic_jobs = ("mailwarden.reports.jobs",)
