"""Who may read the reports; the pages, exports and API check this same tuple."""

from __future__ import annotations

from mailwarden.core.roles import Role

# Managers run the mailroom from these figures; auditors read them. Admin passes every check.
VIEW_REPORTS = (Role.SECURITY_MANAGER, Role.AUDITOR)
# Who the weekly summary goes to (administrators too).
SUMMARY_ROLES = (Role.SECURITY_MANAGER, Role.ADMIN)
