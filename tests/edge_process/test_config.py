"""The edge config: what a correct file gives, and a clear message naming the field otherwise."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest
import yaml

from mailwarden.edge.cli import add_edge_commands, cmd_edge, cmd_edge_provision
from mailwarden.edge.config import EdgeConfigError, load_config, load_secrets
from mailwarden.edge.doors import FailureMode
from mailwarden.edge.osdp import SCBK_D

from ..edge.rulebook import KEY_ID, SECRET
from .conftest import write_config
from .standin import TOKEN

URL = "http://127.0.0.1:9"


def edit(path: Path, change) -> Path:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


def config_error(path: Path) -> str:
    with pytest.raises(EdgeConfigError) as caught:
        load_secrets(load_config(path))
    return str(caught.value)


def test_a_valid_config_loads_with_paths_from_its_folder(tmp_path):
    path = write_config(tmp_path, URL + "/")
    config = load_config(path)
    assert config.name == KEY_ID
    assert config.key_id == KEY_ID  # the server signs with the controller's name
    assert config.server.url == URL  # trailing slash dropped
    assert config.data_dir == tmp_path / "data"
    assert config.readers[0].key_file == tmp_path / "keys" / "mailroom-in.key"
    assert config.door_ids == ["mailroom", "vault"]
    assert config.door_settings("mailroom").strike_s == 60
    assert config.door_settings("vault").failure_mode is FailureMode.FAIL_SECURE
    loaded = load_secrets(config)
    assert loaded.token == TOKEN
    assert loaded.sync_secret == SECRET
    assert set(loaded.reader_keys) == {"mailroom-in", "mailroom-out", "vault-in"}
    assert all(len(k) == 16 for k in loaded.reader_keys.values())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(pol_interval=2), ": pol_interval: unknown key"),
        (lambda d: d["server"].update(poll_intervall_s=2), "server.poll_intervall_s: unknown key"),
        (lambda d: d["readers"][1].update(adress=3), "readers[1].adress: unknown key"),
        (lambda d: d["server"].pop("sync_secret_file"), "server.sync_secret_file: required"),
        (lambda d: d["server"].update(url="ftp://x"), "server.url: must be an http"),
        (lambda d: d["server"].update(token="abc"), "server: give exactly one of token and"),
        (lambda d: d["readers"][0].update(channel="COM3"), "readers[0].channel: a serial"),
        (lambda d: d["readers"][0].update(channel="tcp://host"), "readers[0].channel: a TCP"),
        (lambda d: d["readers"][0].update(channel="udp://h:1"), "unknown channel scheme 'udp'"),
        (lambda d: d["readers"][2].update(address=127), "readers[2].address: Input should be"),
        (lambda d: d["readers"][1].update(id="mailroom-in"), "reader ids must be unique"),
        (lambda d: d.update(readers=[]), "readers: Tuple should have at least 1 item"),
        (lambda d: d["doors"].update(dock={}), "doors with no reader: dock"),
        (lambda d: d["doors"]["mailroom"].update(io="gpio"), "doors.mailroom.io: Input should"),
        (
            lambda d: d["readers"][1].update(channel=d["readers"][0]["channel"], address=1),
            "both use address 1",
        ),
        (
            lambda d: d["readers"][1].update(channel="tcp://127.0.0.1:9", address=1),
            "even on different channels",
        ),
    ],
)
def test_a_bad_config_names_the_field(tmp_path, change, expected):
    path = edit(write_config(tmp_path, URL), change)
    message = config_error(path)
    assert expected in message
    assert str(path) in message


def test_a_lone_bad_reader_gets_its_own_error_only(tmp_path):
    def only_a_bad_reader(d):
        d["readers"] = [{**d["readers"][0], "address": 127}]
        d["doors"] = {d["readers"][0]["door"]: d["doors"][d["readers"][0]["door"]]}

    message = config_error(edit(write_config(tmp_path, URL), only_a_bad_reader))
    assert message.count("\n") == 0, message
    assert "readers[0].address: Input should be less than or equal to 126" in message


def test_a_missing_key_file_is_named(tmp_path):
    path = write_config(tmp_path, URL)
    (tmp_path / "keys" / "mailroom-out.key").unlink()
    message = config_error(path)
    assert message.startswith("readers[1].key_file: file ")
    assert "mailroom-out.key does not exist" in message


def test_a_missing_ca_file_is_named(tmp_path):
    path = edit(write_config(tmp_path, URL), lambda d: d["server"].update(ca_file="ca.pem"))
    assert config_error(path) == f"server.ca_file: file {tmp_path / 'ca.pem'} does not exist"


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "vault-in.key",
            # Fixed, not random: test ids must be the same in every collecting process (xdist).
            "0123456789abcdef",
            ("readers[2].key_file: ", "holds a 8-byte key; it must be 16 bytes (32 hex digits)"),
        ),
        ("vault-in.key", "not hex at all", ("readers[2].key_file: ", "does not hold a hex key")),
        ("vault-in.key", SCBK_D.hex(), ("readers[2].key_file: ", "SCBK-D is public")),
        (
            "sync.key",
            "00112233445566778899aabbccddeeff",
            ("server.sync_secret_file: ", "it must be at least 32 bytes"),
        ),
        ("token", "two words", ("server.token: a device token is one word",)),
    ],
)
def test_a_key_of_the_wrong_kind_is_refused(tmp_path, file, content, expected):
    path = write_config(tmp_path, URL)
    (tmp_path / "keys" / file).write_text(content)
    message = config_error(path)
    assert message.startswith(expected[0])
    assert all(part in message for part in expected)


def test_not_yaml_or_not_a_mapping(tmp_path):
    path = tmp_path / "edge.yaml"
    path.write_text("readers: [\n")
    assert "not valid YAML" in config_error(path)
    path.write_text("- a\n- b\n")
    assert "must be a YAML mapping" in config_error(path)
    assert "cannot read the config" in config_error(tmp_path / "missing.yaml")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mailwarden")
    add_edge_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_the_commands_parse():
    run = parse("edge", "--config", "edge.yaml")
    assert (run.fn, run.config) == (cmd_edge, Path("edge.yaml"))
    prov = parse("edge", "provision", "--config", "e.yaml", "--reader", "vault-in", "--yes")
    assert prov.fn is cmd_edge_provision
    assert (prov.config, prov.reader, prov.yes) == (Path("e.yaml"), "vault-in", True)


def test_the_edge_command_refuses_a_bad_config_with_one_line_and_exit_2(tmp_path, capsys):
    path = edit(write_config(tmp_path, URL), lambda d: d["readers"][0].update(adress=1))
    assert cmd_edge(parse("edge", "--config", str(path))) == 2
    err = capsys.readouterr().err
    assert err.startswith("mailwarden edge: ")
    assert "readers[0].adress: unknown key" in err
    assert cmd_edge(parse("edge")) == 2
    assert "--config FILE is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("file_mode", "warned"),
    [(0o600, False), (0o640, True), (0o620, True), (0o604, True), (0o710, False)],
)
def test_a_secret_others_can_read_or_change_is_warned_about(tmp_path, caplog, file_mode, warned):
    path = write_config(tmp_path, URL)
    (tmp_path / "keys" / "sync.key").chmod(file_mode)
    with caplog.at_level(logging.WARNING, logger="mailwarden.edge.config"):
        load_secrets(load_config(path))
    expected = "sync.key can be read or changed by other users; chmod 600 it"
    assert (expected in caplog.text) is warned
