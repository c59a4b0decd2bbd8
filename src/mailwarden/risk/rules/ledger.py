"""Ledger rule: the ledger grows without a recent signed checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from mailwarden.core import checkpoints, ledger
from mailwarden.risk.rules import Context, Proposed, rule

_TREATMENT = (
    "Set a ledger signing key and checkpoint folder (MW_LEDGER_KEY_FILE, "
    "MW_LEDGER_CHECKPOINT_DIR) and a checkpoint interval, and send the checkpoints to a witness "
    "or an auditor's mailbox."
)


@rule(
    "ledger-checkpoints",
    "Ledger checkpoints missing or out of date",
    uses=("checkpoint_max_age_hours",),
)
def ledger_checkpoints(ctx: Context) -> Iterator[Proposed]:
    """Not site-specific: the ledger is the installation's, so every site's assessment sees it."""
    hours = float(ctx.thresholds["checkpoint_max_age_hours"])
    head_seq, _ = ledger.head()
    last = checkpoints.last_checkpointed()
    if last is None:
        if head_seq == 0:
            return
        yield Proposed(
            subject="ledger",
            title="The ledger has never been checkpointed",
            evidence={"entries": head_seq, "last_checkpoint": "never"},
            suggested_treatment=_TREATMENT,
            threat="tampering",
        )
        return
    seq, at = last
    if head_seq <= seq or ctx.now - at <= timedelta(hours=hours):
        return
    yield Proposed(
        subject="ledger",
        title=f"The newest ledger checkpoint is older than {hours:g} hours",
        evidence={
            "entries": head_seq,
            "checkpointed_entries": seq,
            "last_checkpoint": at.isoformat(),
            "max_age_hours": hours,
        },
        suggested_treatment=_TREATMENT,
        threat="tampering",
    )
