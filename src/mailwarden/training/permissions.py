"""Who may do what in the training app; services, views and the API check these same tuples."""

from __future__ import annotations

from mailwarden.core.roles import SCREEN, STAFF, Role

# Everyone on the staff takes their own courses and sees their own certificates.
LEARN = tuple(sorted(STAFF))
# Courses, question banks, assignment rules and live TIP settings.
MANAGE_TRAINING = (Role.SECURITY_MANAGER,)
# The compliance dashboard, screener proficiency and drill participation: read-only for auditors.
VIEW_COMPLIANCE = (Role.SECURITY_MANAGER, Role.AUDITOR)
# Screener training by threat image projection.
TIP_TRAINING = SCREEN
# Planted test parcels: the clerks and screeners they measure must never see them.
MANAGE_TEST_PARCELS = (Role.SECURITY_MANAGER,)
VIEW_TEST_PARCELS = (Role.SECURITY_MANAGER, Role.AUDITOR)
