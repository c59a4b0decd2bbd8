"""`mailwarden edge provision`: a reader fresh from the box gets its own key, stored 0600."""

from __future__ import annotations

import argparse
import io
import socket
import stat

import pytest

from mailwarden.edge.channels import SocketChannel
from mailwarden.edge.cli import cmd_edge_provision
from mailwarden.edge.config import load_config, read_reader_key
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel
from mailwarden.edge.simulated_reader import SimulatedReader

from ..edge.conftest import QUIET, WAIT, EventLog
from .conftest import write_config


@pytest.fixture
def bench(tmp_path):
    """A config naming one reader, and that reader on a socketpair as it comes from the box."""
    path = write_config(tmp_path, "http://127.0.0.1:9", readers=("vault-in",))
    key_file = tmp_path / "keys" / "vault-in.key"
    key_file.unlink()  # never provisioned
    reader_end, panel_end = socket.socketpair()
    reader = SimulatedReader(SocketChannel(reader_end), 1, None, log_level=QUIET)
    reader.start()
    opened = []

    def opener(address: str) -> SocketChannel:
        opened.append(address)
        # A duplicate of the panel end: the command closes its channel when it is done, and the
        # test goes on talking to the reader through the original.
        return SocketChannel(panel_end.dup())

    yield path, key_file, reader, opener, opened, panel_end
    reader.stop()
    reader_end.close()
    panel_end.close()


def args(path, *, yes: bool = True, reader: str = "vault-in") -> argparse.Namespace:
    return argparse.Namespace(config=path, reader=reader, yes=yes, timeout=WAIT)


def test_provisioning_sets_a_fresh_key_and_writes_it_owner_only(bench):
    path, key_file, reader, opener, opened, panel_end = bench
    out = io.StringIO()
    assert cmd_edge_provision(args(path), channel_opener=opener, stdout=out) == 0
    assert opened == ["tcp://sim-vault-in:4001"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.with_name("vault-in.key.new").exists()
    key = read_reader_key(load_config(path), "vault-in")
    assert reader.key == key
    assert "now uses its own Secure Channel key" in out.getvalue()

    # The stored key is the one the reader holds: a panel with it gets a secure session.
    panel = ReaderPanel(
        [ReaderConfig("vault-in", 1, SocketChannel(panel_end.dup()), key)],
        EventLog(),
        log_level=QUIET,
    )
    with panel:
        assert panel.wait_secure("vault-in", WAIT)


def test_provisioning_asks_first_and_changes_nothing_on_no(bench):
    path, key_file, reader, opener, opened, _ = bench
    out = io.StringIO()
    code = cmd_edge_provision(
        args(path, yes=False), channel_opener=opener, stdin=io.StringIO("n\n"), stdout=out
    )
    assert code == 1
    assert "The reader must be in install mode" in out.getvalue()
    assert "Nothing was changed" in out.getvalue()
    assert opened == []
    assert not key_file.exists()
    assert reader.key is None


def test_provisioning_with_confirmation(bench):
    path, key_file, reader, opener, _, _ = bench
    code = cmd_edge_provision(
        args(path, yes=False),
        channel_opener=opener,
        stdin=io.StringIO("yes\n"),
        stdout=io.StringIO(),
    )
    assert code == 0
    assert reader.key == bytes.fromhex(key_file.read_text())


def test_a_reader_that_holds_another_key_keeps_the_old_key_file(bench, capsys):
    path, key_file, reader, opener, _, _ = bench
    assert cmd_edge_provision(args(path), channel_opener=opener, stdout=io.StringIO()) == 0
    first = key_file.read_text()
    # The reader has left install mode, so a second provisioning is refused, and the key file
    # must still hold the key the reader uses.
    assert cmd_edge_provision(args(path), channel_opener=opener, stdout=io.StringIO()) == 1
    assert "refused the default key" in capsys.readouterr().err
    assert key_file.read_text() == first
    assert reader.key == bytes.fromhex(first)
    assert key_file.with_name("vault-in.key.new").exists()


def test_an_unknown_reader_is_named(bench, capsys):
    path, _, _, opener, opened, _ = bench
    assert cmd_edge_provision(args(path, reader="dock"), channel_opener=opener) == 2
    assert "no reader 'dock' in the config (readers: vault-in)" in capsys.readouterr().err
    assert opened == []
