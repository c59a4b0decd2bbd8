"""API endpoints of shared machinery: ledger verification and tokens."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from mailwarden.core import ledger
from mailwarden.core.permissions import require
from mailwarden.core.roles import AUDIT

router = Router(tags=["ledger"])


class LedgerVerifyOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None


@router.get("/ledger/verify", response=LedgerVerifyOut, summary="Verify the whole ledger")
def verify_ledger(request: HttpRequest) -> LedgerVerifyOut:
    from mailwarden.server.api import actor_of

    require(actor_of(request), AUDIT, "verifying the ledger")
    result = ledger.verify()
    return LedgerVerifyOut(
        ok=result.ok,
        checked=result.checked,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        problem=str(result.problem) if result.problem else None,
    )
