"""The risk console: assessments."""

from django.urls import URLPattern

urls: list[URLPattern] = []
