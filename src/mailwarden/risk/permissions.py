"""Who may do what in the risk app; services, views and the API check these same tuples."""

from __future__ import annotations

from mailwarden.core.roles import Role

# Assessments, findings, risks, treatments and controls.
MANAGE_RISK = (Role.SECURITY_MANAGER,)
# The register, heatmap, findings, evidence and reports: read-only for auditors.
VIEW_RISK = (Role.SECURITY_MANAGER, Role.AUDITOR)
# An accepted risk is approved by a security manager who did not propose the acceptance.
APPROVE_ACCEPTANCE = (Role.SECURITY_MANAGER,)
