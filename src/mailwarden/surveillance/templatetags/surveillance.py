"""Template filters of the surveillance pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def words(value: object) -> str:
    """``after_hours`` as "After hours": a rule or event type as a person reads it."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]
