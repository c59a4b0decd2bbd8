"""The risk console: register."""

from django.urls import URLPattern

urls: list[URLPattern] = []
