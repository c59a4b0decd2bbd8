from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "mailwarden.access"
    label = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        # The services package imports services.alarms, whose check_controllers joins the
        # periodic tick.
        from mailwarden.access import services  # noqa: F401
