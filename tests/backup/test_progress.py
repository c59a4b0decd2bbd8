"""The progress bar backup and restore draw on a terminal."""

from __future__ import annotations

import io

from mailwarden.core.backup.progress import Bar


def test_the_bar_fills_with_the_bytes_done_and_ends_its_line():
    out = io.StringIO()
    bar = Bar("backup", out, width=10)
    bar("database snapshot", 0, 0)
    bar("archiving", 512 << 10, 1 << 20)
    bar("archiving", 1 << 20, 1 << 20)
    bar("done", 1, 1)
    text = out.getvalue()
    assert "backup: database snapshot…" in text
    assert "[#####-----] 512.0 KiB of 1.0 MiB" in text
    assert "[##########] 1.0 MiB of 1.0 MiB" in text
    assert text.endswith("\n")
