"""The demo's simulated edge controller in a process of its own, as a real controller runs.

Its readers are simulated libosdp peripherals that answer the controller's polls from Python
callbacks. Run as a thread of the demo server, every reply waited for the interpreter lock
behind the console's requests and the camera worker; a reply later than libosdp's 200 ms made
the panel probe again, the probe's MAC no longer matched the reader's Secure Channel state
("Invalid MAC; discarding SC"), and the reader went offline for a reader-offline alarm. Here
the controller and its readers have an interpreter to themselves, and they reach the server
over HTTP like any controller.

``python -m mailwarden.access.demo_edge FOLDER URL --seed N`` runs it until SIGTERM or SIGINT;
:class:`DemoEdgeProcess` starts and stops it beside the demo server.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import ClassVar

from mailwarden.core.demo_thread import BesideServer

# Long enough for the controller to write its outbox and journal down, as on any stop.
STOP_WAIT_S = 20.0


class DemoEdgeProcess(BesideServer):
    """Starts ``python -m mailwarden.access.demo_edge`` once the server listens, and stops it
    with the demo. The child says itself, once, why it stopped if it fails."""

    thread_name: ClassVar[str] = "demo-edge"
    what: ClassVar[str] = "the simulated door controller"
    lacking: ClassVar[str] = "live door traffic"

    def __init__(
        self,
        where: str | Path,
        server_url: str,
        *,
        seed: int = 7,
        wait_s: float = 60.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(where, server_url, wait_s=wait_s)
        self.seed = seed
        self.extra_args = list(extra_args)
        self.child: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mailwarden.access.demo_edge",
            str(self.where),
            self.server_url,
            "--seed",
            str(self.seed),
            *self.extra_args,
        ]

    def run(self) -> None:
        self.child = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL)
        self.running.set()
        while self.child.poll() is None:
            if self._stop.wait(0.5):
                self._end_child()
                return
        if self.child.returncode:
            # Already reported by the child; the console carries on without it.
            self.failed = f"the controller process ended with code {self.child.returncode}"

    def cleanup(self) -> None:
        self._end_child()

    def _end_child(self) -> None:
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: Sequence[str] | None = None) -> int:
    from mailwarden.access.demo import DemoEdge

    parser = argparse.ArgumentParser(
        prog="python -m mailwarden.access.demo_edge",
        description="Run the demo's simulated edge controller until SIGTERM or SIGINT.",
    )
    parser.add_argument("folder", help="the demo-edge folder seeding wrote")
    parser.add_argument("url", help="where the demo server listens")
    parser.add_argument("--seed", type=int, default=7, help="the demo's seed (badge traffic)")
    parser.add_argument("--speed", type=float, default=30.0, help="simulated seconds per second")
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    # Ctrl+C in the demo's terminal reaches this process too: stop as on SIGTERM.
    signal.signal(signal.SIGINT, stop)
    parent = os.getppid()
    edge = DemoEdge(args.folder, args.url, seed=args.seed, speed=args.speed).start()
    # A demo server killed outright cannot stop this process: it stops when orphaned.
    while edge.alive() and os.getppid() == parent and not stopping.wait(0.5):
        pass
    edge.stop()
    return 1 if edge.failed else 0


if __name__ == "__main__":
    sys.exit(main())
