"""Background work: the in-process runner for ``serve`` and the ``worker`` process."""

from __future__ import annotations

import threading


class BackgroundRunner(threading.Thread):
    def stop(self) -> None:
        pass


def start_background_runner() -> BackgroundRunner | None:
    return None


def run_worker(*, burst: bool = False) -> int:
    return 0
