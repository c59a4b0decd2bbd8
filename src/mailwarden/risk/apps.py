from mailwarden.core.plugins import MailwardenApp, NavEntry

_PERMISSIONS = "mailwarden.risk.permissions"


class RiskConfig(MailwardenApp):
    name = "mailwarden.risk"
    label = "risk"
    verbose_name = "Risk"

    nav = (
        NavEntry(
            "risk:dashboard",
            "Risk",
            "chart",
            f"{_PERMISSIONS}.VIEW_RISK",
            order=105,
            pages=(
                "risk:assessment",
                "risk:assessment_new",
                "risk:assessment_finalise",
                "risk:assessment_method",
                "risk:questionnaire",
                "risk:questionnaire_section",
                "risk:findings",
                "risk:finding",
                "risk:finding_photo_add",
                "risk:register",
                "risk:heatmap",
                "risk:treatment_plan",
                "risk:changes",
                "risk:report",
                "risk:reports",
                "risk:controls",
                "risk:control",
                "risk:control_edit",
                "risk:treatments",
                "risk:risk_treatments",
            ),
        ),
    )
    urls = "mailwarden.risk.urls"
    url_prefix = "risk/"
    api_router = "mailwarden.risk.api.router"
    # Overdue treatments alert their owners; controls are measured against live evidence.
    periodic_jobs = ("mailwarden.risk.jobs",)
    media_in_use = "mailwarden.risk.media_refs.media_in_use"
    demo_seeder = "mailwarden.risk.demo.RiskDemo"
