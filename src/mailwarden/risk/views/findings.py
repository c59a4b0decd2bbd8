"""The risk console: findings."""

from django.urls import URLPattern

urls: list[URLPattern] = []
