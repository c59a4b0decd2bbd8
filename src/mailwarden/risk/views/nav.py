"""Links from these pages to the risk pages written alongside them (register, heatmap, report,
controls, treatments): each shown once its URL exists, so these pages never break on a branch
that lacks one."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

# (URL name, label), in the order the tabs show them.
ASSESSMENT_PAGES = (
    ("register", "Register"),
    ("heatmap", "Heatmap"),
    ("report", "Report"),
    ("changes", "What changed"),
)
SITE_PAGES = (
    ("controls", "Controls"),
    ("treatments", "Treatment plan"),
    ("reports", "Reports"),
)


def _links(pages: tuple[tuple[str, str], ...], *args: object) -> list[tuple[str, str, str]]:
    found = []
    for name, label in pages:
        try:
            found.append((name, label, reverse(f"risk:{name}", args=args)))
        except NoReverseMatch:
            continue
    return found


def assessment_links(assessment_id: int) -> list[tuple[str, str, str]]:
    """(name, label, URL) of the other pages about one assessment."""
    return _links(ASSESSMENT_PAGES, assessment_id)


def risk_links() -> list[tuple[str, str, str]]:
    return _links(SITE_PAGES)
