"""A simulated OSDP card reader (a libosdp peripheral device) for tests, benchmarks and the demo.

It speaks real OSDP on a channel: it presents cards and keys, reports tamper, and records the
commands the panel sends (LED, buzzer, key changes) so callers can wait for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import osdp as libosdp

from .wiegand import Bits

Command = dict[str, Any]

_CAPABILITIES = [
    (libosdp.Capability.LEDControl, 1, 1),
    (libosdp.Capability.AudibleControl, 1, 1),
    (libosdp.Capability.CardDataFormat, 1, 1),
    (libosdp.Capability.CommunicationSecurity, 1, 1),
]


class SimulatedReader:
    """A reader on ``channel`` at ``address``.

    With ``scbk`` it requires Secure Channel with that key. Without it, it starts in install mode,
    as a reader fresh from the box does, and takes the first key a panel sets with osdp_KEYSET.
    """

    def __init__(
        self,
        channel: libosdp.Channel,
        address: int,
        scbk: bytes | None,
        *,
        log_level: int = libosdp.LogLevel.Warning,
    ) -> None:
        flags = [libosdp.LibFlag.EnforceSecure] if scbk is not None else []
        info = libosdp.PDInfo(address, channel, scbk=scbk, flags=flags)
        self._pd = libosdp.PeripheralDevice(
            info,
            libosdp.PDCapabilities(_CAPABILITIES),
            log_level=log_level,
            command_handler=self._on_command,
        )
        self._cond = threading.Condition()
        self._commands: list[Command] = []
        self.key: bytes | None = scbk
        self._started = False

    def start(self) -> None:
        self._pd.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._pd.teardown()
            self._started = False

    def __enter__(self) -> SimulatedReader:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the reader does ----------------------------------------------------------------

    def present_card(self, bits: Bits, reader_no: int = 0) -> bool:
        return bool(
            self._pd.submit_event(
                {
                    "event": libosdp.Event.CardRead,
                    "reader_no": reader_no,
                    "format": libosdp.CardFormat.Wiegand,
                    "direction": 0,
                    "length": bits.length,
                    "data": bits.to_osdp(),
                }
            )
        )

    def press_keys(self, keys: str, reader_no: int = 0) -> bool:
        data = keys.replace("*", "\x7f").replace("#", "\r").encode("ascii")
        return bool(
            self._pd.submit_event(
                {"event": libosdp.Event.KeyPress, "reader_no": reader_no, "data": data}
            )
        )

    def report_status(self, *, tampered: bool, power_failed: bool = False) -> bool:
        report = bytes([int(tampered), int(power_failed)])
        return bool(
            self._pd.submit_event(
                {
                    "event": libosdp.Event.Status,
                    "type": libosdp.StatusReportType.Local,
                    "report": report,
                }
            )
        )

    # -- what the reader was told -------------------------------------------------------------

    def _on_command(self, command: Command) -> tuple[int, Command | None]:
        with self._cond:
            self._commands.append(dict(command))
            if command.get("command") == libosdp.Command.Keyset:
                # A real reader writes the new key to flash before acknowledging it.
                self.key = bytes(command["data"])
            self._cond.notify_all()
        return 0, None

    @property
    def commands(self) -> list[Command]:
        with self._cond:
            return list(self._commands)

    def mark(self) -> int:
        """A position in the command log; ``wait_for`` after it ignores older commands."""
        with self._cond:
            return len(self._commands)

    def wait_for(
        self,
        predicate: Callable[[Command], bool],
        timeout: float,
        *,
        after: int = 0,
    ) -> Command | None:
        deadline = time.monotonic() + timeout
        seen = after
        with self._cond:
            while True:
                for command in self._commands[seen:]:
                    if predicate(command):
                        return command
                seen = len(self._commands)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def wait_for_led(self, timeout: float, *, after: int = 0) -> Command | None:
        return self.wait_for(
            lambda c: c.get("command") == libosdp.Command.LED, timeout, after=after
        )

    @property
    def secure(self) -> bool:
        return bool(self._pd.is_sc_active())
