"""Custody receipts: an item's ledger entries with RFC 9162 inclusion proofs against a signed
checkpoint. Building one needs the database (``core.checkpoints``); checking one is pure code,
so ``mailwarden ledger check-receipt`` runs offline, with no database and no Django.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailwarden.core import merkle
from mailwarden.core.signednote import NoteError, Verifier, open_checkpoint

FORMAT = "mailwarden-custody-receipt/1"
LEAF_RULE = "RFC 9162 leaf: SHA-256(0x00 || the entry's body as UTF-8); leaf index = seq - 1"


def build(entries: list[dict[str, Any]], note: str, tree: merkle.Tree, size: int) -> dict[str, Any]:
    """The receipt for these exported entries (each with ``seq``) in the tree ``note`` signs."""
    return {
        "format": FORMAT,
        "leaf": LEAF_RULE,
        "checkpoint": note,
        "tree_size": size,
        "check_with": "mailwarden ledger check-receipt FILE --key PUBLIC-KEY",
        "proofs": [
            {
                "seq": entry["seq"],
                "leaf_index": entry["seq"] - 1,
                "inclusion": merkle.proof_to_text(tree.inclusion_proof(entry["seq"] - 1, size)),
            }
            for entry in entries
        ],
    }


@dataclass
class Verdict:
    ok: bool = True
    summary: str = ""
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"FAIL {line}")


def check_file(path: str, key: str) -> Verdict:
    """Check the custody export at ``path`` against ``key`` (a verifier key or its file)."""
    verdict = Verdict()
    try:
        key_text = Path(key).read_text() if Path(key).is_file() else key
        verifier = Verifier.decode(key_text)
    except (OSError, NoteError) as exc:
        verdict.fail(f"the key: {exc}")
        verdict.summary = "the public key cannot be read"
        return verdict
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        verdict.fail(f"{path}: {exc}")
        verdict.summary = "the export cannot be read"
        return verdict
    return check(document, verifier)


def check(document: Any, verifier: Verifier) -> Verdict:
    verdict = Verdict()
    try:
        _check(document, verifier, verdict)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        verdict.fail(f"the export is malformed: {type(exc).__name__}: {exc}")
    if not verdict.summary:
        verdict.summary = (
            "every entry is in the signed ledger" if verdict.ok else "see the failures above"
        )
    return verdict


def _check(document: Any, verifier: Verifier, verdict: Verdict) -> None:
    receipt = document.get("receipt")
    if not receipt:
        verdict.fail(document.get("receipt_note") or "the export carries no receipt")
        verdict.summary = "no receipt to check"
        return
    if receipt.get("format") != FORMAT:
        verdict.fail(f"unknown receipt format {receipt.get('format')!r}")
        return
    try:
        checkpoint = open_checkpoint(receipt["checkpoint"], verifier)
    except NoteError as exc:
        verdict.fail(f"the checkpoint: {exc}")
        verdict.summary = "the checkpoint is not signed by this key"
        return
    verdict.lines.append(
        f"ok   checkpoint {checkpoint.origin}: {checkpoint.size} entries, signature valid"
    )
    subject = f"mailitem:{document['item']['uid']}"
    proofs = {p["seq"]: p for p in receipt["proofs"]}
    entries = document["entries"]
    if not entries:
        verdict.fail("the export lists no entries")
    for entry in entries:
        seq = entry["seq"]
        problem = _entry_problem(entry, subject)
        proof = proofs.pop(seq, None)
        if problem:
            verdict.fail(f"entry {seq}: {problem}")
            continue
        if proof is None:
            verdict.fail(f"entry {seq}: no inclusion proof")
            continue
        path = merkle.proof_from_text(proof["inclusion"])
        leaf = merkle.leaf_hash(entry["body"].encode())
        if proof["leaf_index"] != seq - 1 or not merkle.verify_inclusion(
            leaf, seq - 1, checkpoint.size, path, checkpoint.root
        ):
            verdict.fail(f"entry {seq}: its inclusion proof does not lead to the signed root")
            continue
        verdict.lines.append(f"ok   entry {seq}: {entry['action']} by {entry['actor']}")
    for seq in proofs:
        verdict.fail(f"a proof for entry {seq}, which the export does not list")


def _entry_problem(entry: dict[str, Any], subject: str) -> str | None:
    """Why the entry's fields disagree with its hashed body or hash, or None."""
    body = entry["body"]
    hashed = json.loads(body)
    shown = {
        "seq": entry["seq"],
        "at": entry["at"],
        "actor": entry["actor"],
        "action": entry["action"],
        "data": entry["data"],
    }
    for name, value in shown.items():
        if hashed.get(name) != value:
            return f"its {name} differs from its signed body"
    if hashed.get("subject") != subject:
        return f"it is about {hashed.get('subject')}, not {subject}"
    if hashlib.sha256((entry["prev_hash"] + body).encode()).hexdigest() != entry["hash"]:
        return "its hash does not match its body"
    return None
