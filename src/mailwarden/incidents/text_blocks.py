"""Text the incidents app publishes for other apps' pages (core.plugins.text_block): a
playbook's steps, so a course that teaches them never drifts from the playbook in use."""

from __future__ import annotations

from collections.abc import Callable

from mailwarden.core.roles import Role
from mailwarden.incidents.queries.playbooks import playbooks


def playbook_steps(incident_type: str) -> str:
    found = next((p for p in playbooks() if p.incident_type == incident_type), None)
    if found is None:
        return f"*(This site has no {incident_type.replace('_', ' ')} playbook.)*"
    lines = []
    for n, step in enumerate(found.steps.all(), start=1):
        who = Role(step.role).title if step.role in Role._value2member_map_ else step.role
        lines.append(f"{n}. **{step.title}** ({who}). {step.instructions}")
    return "\n".join(lines)


BLOCKS: dict[str, Callable[[str], str]] = {"playbook": playbook_steps}
