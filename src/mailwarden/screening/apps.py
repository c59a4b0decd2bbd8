from mailwarden.core.plugins import MailwardenApp, NavEntry


class ScreeningConfig(MailwardenApp):
    name = "mailwarden.screening"
    label = "screening"
    verbose_name = "Screening"

    # Shown to whoever the pages admit: the roles are the ones the views check.
    nav = (
        NavEntry(
            "screening:queue",
            "Screening queue",
            "camera",
            "mailwarden.screening.views.SCREENING_READ",
            order=40,
            pages=("screening:workstation",),
        ),
        NavEntry(
            "screening:quarantine",
            "Quarantine",
            "alert",
            "mailwarden.screening.views.SCREENING_READ",
            order=50,
        ),
        NavEntry(
            "screening:policy",
            "Screening policy",
            "check",
            "mailwarden.screening.views.POLICY_READ",
            order=100,
        ),
    )
    urls = "mailwarden.screening.urls"
    url_prefix = "screening/"
    api_router = "mailwarden.screening.api.router"
    demo_seeder = "mailwarden.screening.demo.ScreeningDemo"
    periodic_jobs = ("mailwarden.screening.retention",)
    media_in_use = "mailwarden.screening.retention.media_in_use"
