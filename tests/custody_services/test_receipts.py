"""Custody receipts: an item's export proves each of its entries is in a signed checkpoint, and
`mailwarden ledger check-receipt` checks that offline, without a database or Django."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailwarden.cli import main
from mailwarden.core import checkpoints
from mailwarden.core.actor import Actor
from mailwarden.core.signednote import Signer
from mailwarden.custody import export
from tests.custody_services.test_export import handed_over, pdf_text  # noqa: F401

CHECK = (
    "import sys\n"
    "from mailwarden.cli import main\n"
    "code = main(['ledger', 'check-receipt', sys.argv[1], '--key', sys.argv[2]])\n"
    "assert 'django' not in sys.modules, 'checking a receipt loaded Django'\n"
    "sys.exit(code)\n"
)


def check_receipt(document: dict, key: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the check in a fresh process whose settings point at no usable database."""
    path = tmp_path / "custody.json"
    path.write_text(json.dumps(document))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    env["MW_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    return subprocess.run(
        [sys.executable, "-c", CHECK, str(path), key],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def public_key(db, capsys) -> str:
    assert main(["ledger", "public-key"]) == 0
    return capsys.readouterr().out.strip()


@pytest.fixture
def receipted(handed_over, public_key) -> dict:  # noqa: F811
    checkpoints.write(Actor.job("test"))
    return export.custody_json(handed_over)


def test_without_a_checkpoint_the_export_says_plainly_that_none_covers_it(
    handed_over,  # noqa: F811
    public_key,
    tmp_path,
):
    document = export.custody_json(handed_over)
    assert document["receipt"] is None
    assert "no signed checkpoint covers entry" in document["receipt_note"]
    done = check_receipt(document, public_key, tmp_path)
    assert done.returncode == 1
    assert "no signed checkpoint covers entry" in done.stdout
    assert "RECEIPT INVALID" in done.stderr


def test_a_receipt_proves_every_entry_offline(receipted, public_key, tmp_path):
    receipt = receipted["receipt"]
    assert [p["seq"] for p in receipt["proofs"]] == [e["seq"] for e in receipted["entries"]]
    assert receipt["checkpoint"] == checkpoints.file_for(receipt["tree_size"]).read_text()
    key_file = tmp_path / "ledger.pub"
    key_file.write_text(public_key + "\n")
    done = check_receipt(receipted, str(key_file), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok   entry") == len(receipted["entries"])
    assert "RECEIPT VALID: every entry is in the signed ledger" in done.stdout


def test_an_edited_field_is_refused(receipted, public_key, tmp_path):
    receipted["entries"][1]["data"]["to"] = "destroyed"
    done = check_receipt(receipted, public_key, tmp_path)
    assert done.returncode == 1
    seq = receipted["entries"][1]["seq"]
    assert f"FAIL entry {seq}: its data differs from its signed body" in done.stdout


def test_a_rewritten_body_with_a_recomputed_hash_is_refused(receipted, public_key, tmp_path):
    entry = receipted["entries"][2]
    entry["body"] = entry["body"].replace("to the scanner", "to the skip")
    entry["data"] = json.loads(entry["body"])["data"]
    entry["hash"] = hashlib.sha256((entry["prev_hash"] + entry["body"]).encode()).hexdigest()
    done = check_receipt(receipted, public_key, tmp_path)
    assert done.returncode == 1
    assert f"FAIL entry {entry['seq']}: its inclusion proof does not lead" in done.stdout


def test_a_bent_proof_is_refused(receipted, public_key, tmp_path):
    proof = receipted["receipt"]["proofs"][0]["inclusion"]
    raw = bytearray(base64.b64decode(proof[0]))
    raw[0] ^= 1
    proof[0] = base64.b64encode(bytes(raw)).decode()
    done = check_receipt(receipted, public_key, tmp_path)
    assert done.returncode == 1
    assert "inclusion proof does not lead to the signed root" in done.stdout


def test_another_key_is_refused(receipted, tmp_path):
    other = Signer.generate(checkpoints.signer().name).verifier.encode()
    done = check_receipt(receipted, other, tmp_path)
    assert done.returncode == 1
    assert "the checkpoint is not signed by this key" in done.stderr


def test_an_unreadable_key_is_refused(receipted, tmp_path):
    done = check_receipt(receipted, "not-a-key", tmp_path)
    assert done.returncode == 1
    assert "the public key cannot be read" in done.stderr


def test_the_pdf_carries_the_receipt(receipted, handed_over):  # noqa: F811
    text = " ".join(pdf_text(export.custody_pdf(handed_over)).split())
    assert "Receipt: inclusion in the signed ledger" in text
    assert checkpoints.signer().name in text
    first = receipted["receipt"]["proofs"][0]["inclusion"][0]
    assert first[:20] in text.replace(" ", "")


def test_the_pdf_says_when_no_checkpoint_covers_it(handed_over):  # noqa: F811
    text = " ".join(pdf_text(export.custody_pdf(handed_over)).split())
    assert "No receipt: no signed checkpoint covers entry" in text
