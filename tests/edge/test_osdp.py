"""The OSDP panel against a real libosdp peripheral device, always on Secure Channel."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

import osdp as libosdp
import pytest

from mailwarden.edge.channels import (
    ByteChannel,
    SerialChannel,
    SocketChannel,
    TcpChannel,
    open_channel,
)
from mailwarden.edge.osdp import (
    SCBK_D,
    ProvisioningError,
    ReaderConfig,
    ReaderKeyError,
    ReaderPanel,
    provision,
)
from mailwarden.edge.reader_events import (
    CardRead,
    KeypadInput,
    PowerChanged,
    ReaderStatus,
    TamperChanged,
    TamperSource,
)
from mailwarden.edge.simulated_reader import SimulatedReader
from mailwarden.edge.wiegand import Bits, WiegandErrorReason, WiegandFormat, encode

from .conftest import QUIET, WAIT, EventLog

LED, BUZZER = libosdp.Command.LED, libosdp.Command.Buzzer
GREEN, RED = libosdp.CommandLEDColor.Green, libosdp.CommandLEDColor.Red


def test_the_session_is_secure_with_the_readers_key(pair):
    assert pair.panel.status("front") == ReaderStatus("front", online=True, secure=True)
    assert pair.reader.secure
    assert pair.events.wait_for(ReaderStatus).online


@pytest.mark.parametrize(
    ("fmt", "facility", "card"),
    [
        (WiegandFormat.H10301, 1, 1),
        (WiegandFormat.H10304, 40000, 300000),
        (WiegandFormat.CORPORATE_1000_35, 627, 3187),
    ],
)
def test_card_reads_arrive_decoded(pair, fmt, facility, card):
    frame = encode(fmt, facility, card)
    mark = pair.events.mark()
    assert pair.reader.present_card(frame)
    read = pair.events.wait_for(CardRead, after=mark)
    assert read.reader_id == "front"
    assert (read.length, read.data) == (frame.length, frame.to_osdp())
    assert read.error is None
    assert (read.credential.format, read.credential.facility, read.credential.card) == (
        fmt,
        facility,
        card,
    )


def test_a_misread_card_is_reported_with_the_parity_failure(pair):
    bad = encode(WiegandFormat.H10301, 1, 1).flipped(20)
    mark = pair.events.mark()
    pair.reader.present_card(bad)
    read = pair.events.wait_for(CardRead, after=mark)
    assert read.credential is None
    assert read.error.reason is WiegandErrorReason.PARITY
    assert read.error.failed_parity_bits == (26,)


def test_an_unknown_length_is_reported(pair):
    mark = pair.events.mark()
    pair.reader.present_card(Bits(0x1234, 30))
    read = pair.events.wait_for(CardRead, after=mark)
    assert read.error.reason is WiegandErrorReason.UNKNOWN_LENGTH


def test_keypad_tamper_and_power(pair):
    mark = pair.events.mark()
    pair.reader.press_keys("12*#")
    assert pair.events.wait_for(KeypadInput, after=mark).keys == "12*#"
    pair.reader.report_status(tampered=True)
    assert pair.events.wait_for(TamperChanged, after=mark) == TamperChanged(
        "front", True, TamperSource.LOCAL
    )
    pair.reader.report_status(tampered=False, power_failed=True)
    assert pair.events.wait_for(PowerChanged, after=mark) == PowerChanged("front", True)
    assert pair.events.wait_for(TamperChanged, lambda e: not e.tampered, after=mark)


def test_a_reader_that_drops_is_reported_offline_and_nothing_else(pair, link):
    # libosdp closes the Secure Channel session a few milliseconds before it marks the reader
    # offline; that moment must not reach the journal as "online without its key".
    mark = pair.events.mark()
    link[0].close()  # the reader's line is cut
    pair.events.wait_for(ReaderStatus, lambda e: not e.online, after=mark)
    statuses = [e for e in pair.events.events[mark:] if isinstance(e, ReaderStatus)]
    assert statuses == [ReaderStatus("front", online=False, secure=False)]
    assert pair.panel.status("front") == ReaderStatus("front", online=False, secure=False)


def test_grant_is_green_with_a_short_beep_and_deny_is_red_with_a_long_one(pair):
    mark = pair.reader.mark()
    assert pair.panel.grant("front")
    led = pair.reader.wait_for(lambda c: c["command"] == LED, WAIT, after=mark)
    beep = pair.reader.wait_for(lambda c: c["command"] == BUZZER, WAIT, after=mark)
    assert led["on_color"] == GREEN and led["temporary"]
    short = beep["on_count"]

    mark = pair.reader.mark()
    assert pair.panel.deny("front")
    led = pair.reader.wait_for(lambda c: c["command"] == LED, WAIT, after=mark)
    beep = pair.reader.wait_for(lambda c: c["command"] == BUZZER, WAIT, after=mark)
    assert led["on_color"] == RED
    assert beep["on_count"] > short


class TestKeys:
    @pytest.mark.parametrize(
        ("key", "message"),
        [(SCBK_D, "SCBK-D is public"), (bytes(16), "all-zero"), (b"short", "16 bytes")],
    )
    def test_unusable_keys_are_refused(self, link, key, message):
        with pytest.raises(ReaderKeyError, match=message):
            ReaderConfig("front", 7, link[1], key)

    def test_a_panel_with_the_wrong_key_never_gets_the_reader_online(self, link):
        reader = SimulatedReader(link[0], 7, secrets.token_bytes(16), log_level=QUIET)
        events = EventLog()
        panel = ReaderPanel(
            [ReaderConfig("front", 7, link[1], secrets.token_bytes(16))], events, log_level=QUIET
        )
        with reader, panel:
            assert not panel.wait_secure("front", WAIT)
            assert not panel.grant("front")  # nothing can be sent to it
        assert reader.commands == []
        # Reported offline although it was never online, so the server raises its alarm.
        statuses = [e for e in events.events if isinstance(e, ReaderStatus)]
        assert statuses == [ReaderStatus("front", False, False)]


def test_provisioning_gives_an_install_mode_reader_its_own_key(link):
    reader_end, panel_end = link
    fresh = SimulatedReader(reader_end, 9, None, log_level=QUIET)  # straight from the box
    new_key = secrets.token_bytes(16)
    with fresh:
        provision(panel_end, 9, new_key, timeout=WAIT, log_level=QUIET)
        assert fresh.key == new_key

        # The reader has left install mode: the default key is refused, so nobody can
        # provision it again (not even us, with yet another key).
        with pytest.raises(ProvisioningError, match="refused the default key"):
            provision(panel_end, 9, secrets.token_bytes(16), timeout=WAIT, log_level=QUIET)
        assert fresh.key == new_key

        wrong = ReaderPanel(
            [ReaderConfig("dock", 9, panel_end, secrets.token_bytes(16))],
            EventLog(),
            log_level=QUIET,
        )
        with wrong:
            assert not wrong.wait_secure("dock", WAIT)

        events = EventLog()
        right = ReaderPanel([ReaderConfig("dock", 9, panel_end, new_key)], events, log_level=QUIET)
        with right:
            assert right.wait_secure("dock", WAIT)
            fresh.present_card(encode(WiegandFormat.H10301, 3, 33))
            assert events.wait_for(CardRead).credential.card == 33


def test_provisioning_refuses_the_default_key_as_the_new_key(link):
    with pytest.raises(ReaderKeyError):
        provision(link[1], 9, SCBK_D)


def test_tcp_reader_goes_offline_and_is_revived_when_it_returns():
    key = secrets.token_bytes(16)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]
    events = EventLog()
    channel = open_channel(f"tcp://127.0.0.1:{port}", retry_after=0.05)
    assert isinstance(channel, TcpChannel)
    panel = ReaderPanel(
        [ReaderConfig("gate", 4, channel, key)], events, log_level=QUIET, revive_after=0.1
    )
    with panel:
        conn, _ = listener.accept()
        with SimulatedReader(SocketChannel(conn), 4, key, log_level=QUIET):
            assert panel.wait_secure("gate", WAIT)
        conn.close()  # the bridge drops the line
        mark = events.mark()
        assert events.wait_for(ReaderStatus, lambda e: not e.online, after=mark)

        conn, _ = listener.accept()  # the channel dials again
        with SimulatedReader(SocketChannel(conn), 4, key, log_level=QUIET):
            # libosdp alone would wait 300 s before trying again.
            assert events.wait_for(ReaderStatus, lambda e: e.online and e.secure, after=mark)
        conn.close()
    channel.close()
    listener.close()


def test_a_tcp_reader_is_back_as_soon_as_its_bridge_is_whatever_the_panels_backoff():
    # After a long failure the panel's own retries of an offline reader are a minute apart; the
    # channel dials by itself every retry_after and tells the panel, which tries the reader then.
    key = secrets.token_bytes(16)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]
    events = EventLog()
    channel = open_channel(f"tcp://127.0.0.1:{port}", retry_after=0.1)
    assert isinstance(channel, TcpChannel)
    # The panel alone would not try the reader again within this test's waits.
    panel = ReaderPanel(
        [ReaderConfig("gate", 4, channel, key)],
        events,
        log_level=QUIET,
        revive_after=WAIT * 3,
        revive_max=WAIT * 3,
    )
    with panel:
        conn, _ = listener.accept()
        with SimulatedReader(SocketChannel(conn), 4, key, log_level=QUIET):
            assert panel.wait_secure("gate", WAIT)
        conn.close()
        listener.close()  # the bridge is gone, and refuses connections for a while
        mark = events.mark()
        assert events.wait_for(ReaderStatus, lambda e: not e.online, after=mark)
        deadline = time.monotonic() + WAIT
        while not (channel.last_error or "").startswith("ConnectionRefusedError"):
            assert time.monotonic() < deadline, channel.last_error
            time.sleep(0.01)

        listener = socket.create_server(("127.0.0.1", port))  # a replaced bridge, same address
        listener.settimeout(WAIT)
        conn, _ = listener.accept()
        with SimulatedReader(SocketChannel(conn), 4, key, log_level=QUIET):
            assert events.wait_for(ReaderStatus, lambda e: e.online and e.secure, after=mark)
        conn.close()
    channel.close()
    listener.close()


class FdChannel(ByteChannel):
    """The reader's end of a pty."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        os.set_blocking(fd, False)

    def read(self, max_bytes: int) -> bytes:
        try:
            return os.read(self.fd, max_bytes)
        except (BlockingIOError, OSError):
            return b""

    def write(self, buf: bytes) -> int:
        try:
            return os.write(self.fd, buf)
        except (BlockingIOError, OSError):
            return 0

    def flush(self) -> None:
        pass

    def close(self) -> None:
        os.close(self.fd)


def test_serial_channel_over_a_pty():
    reader_fd, panel_fd = os.openpty()
    device = os.ttyname(panel_fd)
    channel = open_channel(f"serial://{device}?baudrate=115200")
    assert isinstance(channel, SerialChannel)
    os.close(panel_fd)  # pyserial holds its own descriptor
    assert channel.read(64) == b""  # nothing there: returns at once
    key = secrets.token_bytes(16)
    events = EventLog()
    reader_channel = FdChannel(reader_fd)
    panel = ReaderPanel([ReaderConfig("rs485", 1, channel, key)], events, log_level=QUIET)
    try:
        with SimulatedReader(reader_channel, 1, key, log_level=QUIET) as reader, panel:
            assert panel.wait_secure("rs485", WAIT)
            reader.present_card(encode(WiegandFormat.H10301, 12, 3456))
            assert events.wait_for(CardRead).credential.card == 3456
    finally:
        channel.close()
        reader_channel.close()


def test_a_serial_adaptor_that_comes_back_is_opened_again(tmp_path):
    # A udev-style symlink names the adaptor; unplugging it hangs up the line, and the adaptor
    # comes back as a new device behind the same name.
    name = tmp_path / "ttyREADERS"
    first_reader, first_panel = os.openpty()
    name.symlink_to(os.ttyname(first_panel))
    channel = open_channel(f"serial://{name}", retry_after=0.05)
    opened = threading.Event()
    channel.watch(opened.set)
    os.close(first_panel)
    assert channel.write(b"poll") == 4
    assert os.read(first_reader, 16) == b"poll"

    os.close(first_reader)  # unplugged
    assert channel.write(b"poll") == 0
    assert channel.last_error is not None and "Errno 5" in channel.last_error
    second_reader, second_panel = os.openpty()
    name.unlink()
    name.symlink_to(os.ttyname(second_panel))
    try:
        # Nobody touches the channel meanwhile: it opens the port again by itself.
        assert opened.wait(WAIT)
        assert channel.last_error is None
        assert channel.write(b"poll") == 4
        assert os.read(second_reader, 16) == b"poll"
        os.write(second_reader, b"reply")
        # The pty hands input over asynchronously: read until it arrives.
        deadline, got = time.monotonic() + WAIT, b""
        while not got and time.monotonic() < deadline:
            got = channel.read(16)
            if not got:
                time.sleep(0.005)
        assert got == b"reply"
    finally:
        channel.close()
        os.close(second_panel)
        os.close(second_reader)


class TestChannels:
    def test_socket_read_returns_empty_when_nothing_is_there(self, link):
        assert link[0].read(64) == b""
        assert link[1].write(b"abc") == 3
        assert link[0].read(64) == b"abc"

    def test_flush_discards_what_has_arrived(self, link):
        link[1].write(b"stale reply")
        link[0].flush()
        assert link[0].read(64) == b""

    def test_a_tcp_channel_with_nobody_listening_neither_blocks_nor_raises(self):
        probe = socket.create_server(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        channel = TcpChannel("127.0.0.1", port)
        assert channel.write(b"x") == 0
        assert channel.read(16) == b""
        assert not channel.connected
        channel.close()

    @pytest.mark.parametrize("url", ["ftp://x", "tcp://hostonly", "serial://"])
    def test_bad_channel_urls(self, url):
        with pytest.raises(ValueError, match="channel"):
            open_channel(url)

    def test_channels_have_distinct_ids(self, link):
        # libosdp treats readers whose channels share an id as one multi-drop bus.
        assert link[0].id != link[1].id
