"""The risk console: reports."""

from django.urls import URLPattern

urls: list[URLPattern] = []
