from mailwarden.core.plugins import MailwardenApp, NavEntry


class SurveillanceConfig(MailwardenApp):
    name = "mailwarden.surveillance"
    label = "surveillance"
    verbose_name = "Surveillance"

    nav = (
        NavEntry(
            "surveillance:cameras",
            "Cameras",
            "camera",
            "mailwarden.surveillance.services.cameras.VIEW_CAMERAS",
            order=68,
        ),
        NavEntry(
            "surveillance:events",
            "Video events",
            "eye",
            "mailwarden.surveillance.services.cameras.VIEW_CAMERAS",
            order=69,
        ),
    )
    urls = "mailwarden.surveillance.urls"
    url_prefix = "surveillance/"
    api_router = "mailwarden.surveillance.api.router"
    # A vision worker's token reaches only its own operations.
    device_scope = "mailwarden.surveillance.api.worker.worker_scope"
    # Evidence retention and the watch on silent workers.
    periodic_jobs = ("mailwarden.surveillance.services.retention",)
    media_in_use = "mailwarden.surveillance.services.retention.media_in_use"
    # A camera playing a looping clip, and its worker, in ``mailwarden demo``.
    demo_seeder = "mailwarden.surveillance.demo.SurveillanceDemo"
