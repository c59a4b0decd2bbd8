from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "mailwarden.screening"
    label = "screening"
    verbose_name = "Screening"
