"""The archive format alone: a manifest last, checked member by member."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailwarden.core.backup import archive
from mailwarden.core.backup.errors import BackupError

AT = datetime(2026, 3, 2, 9, 30, 5, tzinfo=UTC)


def manifest() -> archive.Manifest:
    return archive.Manifest(
        version="0.1.0",
        created_at=AT.isoformat(),
        vendor="sqlite",
        database_member="database/db.gz",
        migrations={"core": ["0001_initial"]},
        tables={"t": 1},
        ledger_head_seq=0,
        ledger_head_hash="0" * 64,
        ledger_public_key=None,
        secrets=False,
    )


def write(tmp_path: Path, files: dict[str, bytes]) -> Path:
    final = tmp_path / archive.archive_name(AT)
    with archive.Writer(final) as writer:
        for name, data in files.items():
            source = tmp_path / "src" / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            writer.add_file(name, source)
        writer.finish(manifest())
    return final


def test_names_carry_the_time_pruning_reads():
    name = archive.archive_name(AT)
    assert name == "mailwarden-20260302T093005Z.tar"
    assert archive.time_of(name) == AT
    assert archive.time_of(name + ".partial") is None
    assert archive.time_of("mailwarden-yesterday.tar") is None


def test_a_finished_archive_verifies(tmp_path):
    path = write(tmp_path, {"database/db.gz": b"db", "media/aa/bb/x": b"photo"})
    checked = archive.verify(path)
    assert set(checked.files) == {"database/db.gz", "media/aa/bb/x"}
    assert checked.files["media/aa/bb/x"].size == 5
    assert not list(tmp_path.glob("*.partial"))


def test_an_error_while_writing_leaves_no_file(tmp_path):
    final = tmp_path / archive.archive_name(AT)
    with pytest.raises(FileNotFoundError), archive.Writer(final) as writer:
        writer.add_bytes("config/settings.yaml", b"x")
        writer.add_file("media/missing", tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


def test_an_archive_cut_short_is_incomplete(tmp_path):
    path = write(tmp_path, {"database/db.gz": b"d" * 5000, "media/x": b"p" * 5000})
    data = path.read_bytes()
    with tarfile.open(path) as tar:
        inside_manifest = tar.getmember("manifest.json").offset_data + 10
    # (Cutting only the zero padding after the end-of-archive blocks takes nothing away.)
    for cut in (len(data) // 3, inside_manifest, 512):
        path.write_bytes(data[:cut])
        with pytest.raises(BackupError, match=r"incomplete|damaged|cut short"):
            archive.verify(path)


def test_a_partial_file_has_no_manifest(tmp_path):
    final = tmp_path / archive.archive_name(AT)
    writer = archive.Writer(final)
    writer.__enter__()
    writer.add_bytes("database/db.gz", b"x" * 100)
    assert writer._tar is not None
    writer._tar.fileobj.flush()  # what a killed process leaves on disk
    with pytest.raises(BackupError, match=r"does not end with its manifest\.json"):
        archive.read_manifest(writer.partial)
    writer.__exit__(None, None, None)
    assert not writer.partial.exists()


def test_a_member_not_in_the_manifest_is_named(tmp_path):
    path = write(tmp_path, {"database/db.gz": b"db"})
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w") as tar:
        for info, data in [(tarfile.TarInfo("media/extra"), b"x"), *members]:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError, match="media/extra is not in the manifest"):
        archive.verify(path)


def test_a_member_missing_from_the_archive_is_named(tmp_path):
    path = write(tmp_path, {"database/db.gz": b"db", "media/gone": b"x"})
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            if info.name != "media/gone":
                tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError, match="media/gone is in the manifest but not in the archive"):
        archive.verify(path)


def test_a_changed_member_is_named_with_both_hashes(tmp_path):
    path = write(tmp_path, {"database/db.gz": b"db", "media/photo": b"abcdef"})
    raw = bytearray(path.read_bytes())
    at = raw.index(b"abcdef")
    raw[at] = ord("X")
    path.write_bytes(bytes(raw))
    with pytest.raises(BackupError, match="media/photo differs from the manifest: its SHA-256"):
        archive.verify(path)
