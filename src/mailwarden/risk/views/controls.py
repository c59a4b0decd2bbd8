"""The risk console: controls."""

from django.urls import URLPattern

urls: list[URLPattern] = []
