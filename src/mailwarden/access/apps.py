from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "mailwarden.access"
    label = "access"
    verbose_name = "Access"
