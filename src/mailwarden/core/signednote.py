"""Signed checkpoints in the C2SP formats, in pure code (no Django).

* https://c2sp.org/tlog-checkpoint: the note's text is the origin line, the tree size in decimal
  and the root hash in base64, each ending in a newline.
* https://c2sp.org/signed-note: the text, a blank line, then one line per signature,
  ``— <key name> <base64(key hash (4 bytes) || signature)>``. For Ed25519 the key hash is the
  first four bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``.

Keys are written as the Go ``note`` package writes them, so transparency-log witness tools read
them: the signer key ``PRIVATE+KEY+<name>+<hash hex>+<base64(0x01 || seed)>`` and the verifier
key ``<name>+<hash hex>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
DASH = "\u2014"


class NoteError(ValueError):
    """A note, key or checkpoint that cannot be read or does not verify; the message says why."""


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c == "+" for c in name)


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def hash(self) -> bytes:
        return key_hash(self.name, self.public)

    def encode(self) -> str:
        raw = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.hash.hex()}+{raw}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def decode(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # base64 may hold '+'; the name may not
        if len(parts) != 3:
            raise NoteError("a verifier key reads <name>+<hash>+<base64 key>")
        name, hash_hex, raw = parts
        try:
            key = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise NoteError("the verifier key's last part is not base64") from None
        if not _valid_name(name) or len(key) != 33 or key[0] != ED25519:
            raise NoteError("not an Ed25519 verifier key")
        verifier = cls(name, key[1:])
        if verifier.hash.hex() != hash_hex.lower():
            raise NoteError("the verifier key's hash does not match its name and key")
        return verifier


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    @property
    def verifier(self) -> Verifier:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()
        return Verifier(self.name, public)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)

    def encode(self) -> str:
        raw = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.hash.hex()}+{raw}"

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not _valid_name(name):
            raise NoteError(f"{name!r} cannot name a key: no spaces or '+'")
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def decode(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key reads PRIVATE+KEY+<name>+<hash>+<base64 key>")
        _, _, name, hash_hex, raw = parts
        try:
            key = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise NoteError("the signer key's last part is not base64") from None
        if not _valid_name(name) or len(key) != 33 or key[0] != ED25519:
            raise NoteError("not an Ed25519 signer key")
        signer = cls(name, key[1:])
        if signer.verifier.hash.hex() != hash_hex.lower():
            raise NoteError("the signer key's hash does not match its name and key")
        return signer


def load_signer(path: Path) -> Signer:
    try:
        return Signer.decode(path.read_text())
    except OSError as exc:
        raise NoteError(f"cannot read the ledger key {path}: {exc.strerror}") from exc


def create_key_file(path: Path, name: str) -> Signer:
    """Write a new signer key to ``path`` (mode 0600); refuses to replace an existing file."""
    signer = Signer.generate(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.encode() + "\n")
    return signer


# ----------------------------------------------------------------------------- notes


def sign_note(text: str, signer: Signer) -> str:
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends in a newline and holds no blank line")
    signature = base64.b64encode(signer.verifier.hash + signer.sign(text.encode())).decode()
    return f"{text}\n{DASH} {signer.name} {signature}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text, once a signature by ``verifier`` checks out; NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    for line in signatures[:-1].split("\n"):
        dash, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if dash != DASH or not encoded:
            raise NoteError(f"malformed signature line {line!r}")
        if name != verifier.name:
            continue
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if raw[:4] == verifier.hash and verifier.verify(text.encode(), raw[4:]):
            return text
        raise NoteError(f"the signature by {name} does not verify with this key")
    raise NoteError(f"the note carries no signature by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
        origin, size, root = lines[0], lines[1], lines[2]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"the tree size {size!r} is not a decimal number")
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("the root hash is not base64") from None
        if len(raw) != 32 or not origin:
            raise NoteError("the root hash is not 32 bytes, or the origin is empty")
        return cls(origin, int(size), raw)


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    return sign_note(checkpoint.text(), signer)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise NoteError(f"the checkpoint's origin {checkpoint.origin!r} is not the key's name")
    return checkpoint
