"""The `smscd` command line: version, config check, run's seam, pdu decode."""
import pathlib

import pytest
from click.testing import CliRunner, Result

import smscd
import smscd.cli
from smscd.cli import main, parse_hex
from smscd.config import Config
from smscd.smpp.codec import encode
from smscd.smpp.pdu import DistributionList, SmeAddress, SubmitMulti, SubmitMultiResp, UnsuccessSme

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONF = str(ROOT / "conf" / "smscd.yaml")

# reference/smpp.md HDR-03: the spec's bind_transmitter, as an operator might paste it
BIND_TRANSMITTER = ("0000002F00000002000000000000000153 4D5050335445535400736563726574303800 "
                    "5355424D49543100000101 00")
BIND_TRANSMITTER_LINES = [
    "command_length: 47",
    "command_id: bind_transmitter (0x00000002)",
    "command_status: ESME_ROK (0x00000000)",
    "sequence_number: 1",
    "system_id: 'SMPP3TEST'",
    "password: 'secret08'",
    "system_type: 'SUBMIT1'",
    "interface_version: 0 (0x00)",
    "addr_ton: 1 (0x01)",
    "addr_npi: 1 (0x01)",
    "address_range: ''",
]


def smscd_cli(*args: str, env: dict[str, str | None] | None = None,
              stdin: str | None = None) -> Result:
    """Run `smscd ARGS` in-process with $SMSCD_DATA_DIR unset unless `env` sets it."""
    return CliRunner().invoke(main, list(args), env={"SMSCD_DATA_DIR": None, **(env or {})},
                              input=stdin, prog_name="smscd")


def write(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "smscd.yaml"
    path.write_text(text)
    return str(path)


def test_version() -> None:
    """Breaks if `smscd --version` stops printing `smscd <version>`."""
    result = smscd_cli("--version")
    assert (result.exit_code, result.stdout) == (0, f"smscd {smscd.__version__}\n")


def test_config_check_ok_prints_a_summary() -> None:
    """Breaks if a valid file is not confirmed with its listener and store in one line."""
    result = smscd_cli("config", "check", CONF)
    assert result.exit_code == 0
    assert result.stdout == (f"{CONF}: OK (smpp_server 127.0.0.1:2775, "
                             "store sqlite var/smscd.sqlite3)\n")


def test_config_check_summary_follows_environment_and_ipv6(tmp_path: pathlib.Path) -> None:
    """Breaks if the summary does not show the store the daemon would really use, or an
    IPv6 listener is shown ambiguously."""
    path = write(tmp_path, "smpp_server:\n  host: '::1'\n")
    result = smscd_cli("config", "check", path, env={"SMSCD_DATA_DIR": "/srv/smscd"})
    assert result.stdout == f"{path}: OK (smpp_server [::1]:2775, store sqlite " \
                            "/srv/smscd/smscd.sqlite3)\n"


def test_config_check_lists_every_problem_and_exits_2(tmp_path: pathlib.Path) -> None:
    """Breaks if `config check` stops at the first problem, hides the key path, or exits 0."""
    path = write(tmp_path, "smpp_server:\n  port: abc\n  prt: 1\nlog:\n  level: loud\n")
    result = smscd_cli("config", "check", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "smpp_server.prt: unknown key",
        "smpp_server.port: expected an integer 0..65535, got 'abc'",
        "log.level: expected one of debug, info, warning, error, got 'loud'",
    ]


def test_config_check_missing_file(tmp_path: pathlib.Path) -> None:
    """Breaks if a missing file is not named or does not exit 2."""
    result = smscd_cli("config", "check", str(tmp_path / "nope.yaml"))
    assert (result.exit_code, result.stderr) == (2, f"{tmp_path / 'nope.yaml'}: no such file\n")


def test_run_validates_before_starting(tmp_path: pathlib.Path) -> None:
    """Breaks if `smscd run` starts (or reaches the daemon seam) with a bad configuration."""
    result = smscd_cli("run", "--config", write(tmp_path, "smpp_server:\n  port: -5\n"))
    assert result.exit_code == 2
    assert result.stderr == "smpp_server.port: expected an integer 0..65535, got -5\n"


@pytest.mark.parametrize("args, env, data_dir, simulator", [
    ((), {}, "var", True),
    ((), {"SMSCD_DATA_DIR": "/env"}, "/env", True),
    (("--data-dir", "/flag"), {"SMSCD_DATA_DIR": "/env"}, "/flag", True),
    (("--config", CONF, "--data-dir", "/flag"), {}, "/flag", True),
])
def test_run_hands_the_validated_config_to_the_daemon(
        monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], env: dict[str, str],
        data_dir: str, simulator: bool) -> None:
    """Breaks if the daemon seam gets a config without the --data-dir / $SMSCD_DATA_DIR
    precedence, or without the demo simulator when no file is given."""
    seen: list[Config] = []
    monkeypatch.setattr(smscd.cli, "run_daemon", lambda config: seen.append(config) or 0)
    result = smscd_cli("run", *args, env=env)
    assert result.exit_code == 0, result.stderr
    [config] = seen
    assert config.data_dir == pathlib.Path(data_dir)
    assert config.demo.simulator is simulator


def test_pdu_decode_golden_bind_transmitter() -> None:
    """Breaks if `pdu decode` misses a field, misnames one, or mangles the spec's example."""
    result = smscd_cli("pdu", "decode", *BIND_TRANSMITTER.split())
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == BIND_TRANSMITTER_LINES


@pytest.mark.parametrize("dump", [
    BIND_TRANSMITTER.replace(" ", ""),
    BIND_TRANSMITTER.lower(),
    ":".join(BIND_TRANSMITTER.replace(" ", "")[i:i + 2] for i in range(0, 94, 2)),
    " ".join("0x" + BIND_TRANSMITTER.replace(" ", "")[i:i + 8] for i in range(0, 94, 8)),
    "\n  " + BIND_TRANSMITTER + "\n",
])
def test_pdu_decode_accepts_pasted_dumps(dump: str) -> None:
    """Breaks if spaces, colons, 0x prefixes, case or newlines in a pasted dump are refused."""
    result = smscd_cli("pdu", "decode", dump)
    assert result.stdout.splitlines() == BIND_TRANSMITTER_LINES


def test_pdu_decode_reads_stdin() -> None:
    """Breaks if `smscd pdu decode -` stops reading the dump from stdin."""
    result = smscd_cli("pdu", "decode", "-", stdin=BIND_TRANSMITTER + "\n")
    assert result.stdout.splitlines() == BIND_TRANSMITTER_LINES


def test_pdu_decode_names_tlvs_and_keeps_unknown_ones() -> None:
    """Breaks if TLVs are not printed by name with their tag, or a vendor TLV is lost."""
    dump = ("00000049000000050000000000000007000101343437373030393030303031000101313233"
            "343500040000000000000000026869001E00066162633132000427000102140300020102")
    result = smscd_cli("pdu", "decode", dump)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:6] == ["command_length: 73", "command_id: deliver_sm (0x00000005)",
                         "command_status: ESME_ROK (0x00000000)", "sequence_number: 7",
                         "service_type: ''", "source_addr_ton: 1 (0x01)"]
    assert "esm_class: 4 (0x04)" in lines
    assert "short_message: 6869 (2 octets)" in lines
    assert lines[-3:] == ["receipted_message_id (tag 0x001E): 'abc12'",
                          "message_state (tag 0x0427): 2 (0x02)",
                          "tag 0x1403: 0102"]


def test_pdu_decode_response_status_and_lists() -> None:
    """Breaks if error statuses lose their spec name, unknown ones are hidden, or the
    destination / unsuccess lists of submit_multi are not printed entry by entry."""
    result = smscd_cli("pdu", "decode", "00000010 80000000 00000003 00000002")
    assert result.stdout.splitlines()[1:3] == ["command_id: generic_nack (0x80000000)",
                                               "command_status: ESME_RINVCMDID (0x00000003)"]
    result = smscd_cli("pdu", "decode", "00000010 80000015 0000FFFF 00000002")
    assert result.stdout.splitlines()[2] == "command_status: 0x0000FFFF"

    multi = SubmitMulti(sequence_number=3, dest_addresses=(
        SmeAddress(1, 1, "447700900001"), DistributionList("friends")), short_message=b"hi")
    lines = smscd_cli("pdu", "decode", encode(multi).hex()).stdout.splitlines()
    assert "dest_addresses: 2 entries" in lines
    assert "dest_addresses[0].destination_addr: '447700900001'" in lines
    assert "dest_addresses[1].dl_name: 'friends'" in lines
    resp = SubmitMultiResp(sequence_number=3, message_id="m1", unsuccess_smes=(
        UnsuccessSme(1, 1, "447700900002", 0x0B),))
    lines = smscd_cli("pdu", "decode", encode(resp).hex()).stdout.splitlines()
    assert "unsuccess_smes[0].error_status_code: 11 (0x0B)" in lines


def test_pdu_decode_truncated_reports_offset_and_exits_2() -> None:
    """Breaks if a truncated PDU is half-printed, or its error lacks the reason and offset."""
    result = smscd_cli("pdu", "decode", BIND_TRANSMITTER.replace(" ", "")[:60])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("cannot decode: command_length 47 but the frame has 30 octets "
                             "at offset 0 (ESME_RINVCMDLEN)\n")


def test_pdu_decode_invalid_field_reports_offset() -> None:
    """Breaks if a bad field's error loses its offset or status (system_id without NUL)."""
    dump = "00000030 00000002 00000000 00000001" + "41" * 32
    result = smscd_cli("pdu", "decode", dump)
    assert result.exit_code == 2
    assert "at offset 16 (ESME_RINVSYSID)" in result.stderr


@pytest.mark.parametrize("dump, reason", [
    ("00 0G", "'G' is not a hex digit"),
    ("000", "odd number of hex digits (3)"),
    ("0x", "no hex digits"),
])
def test_pdu_decode_rejects_non_hex(dump: str, reason: str) -> None:
    """Breaks if a malformed dump is decoded anyway or the reason is vague."""
    result = smscd_cli("pdu", "decode", dump)
    assert (result.exit_code, result.stderr) == (2, f"not a hex dump: {reason}\n")


def test_parse_hex_skips_separators_only() -> None:
    """Breaks if separators or 0x prefixes are not stripped, or digits inside are dropped."""
    assert parse_hex("0x00:0A 0xff\t10") == b"\x00\x0a\xff\x10"


def test_simulator_names_each_bad_option():
    """`smscd simulator` must name every malformed option and exit 2 before listening."""
    from click.testing import CliRunner

    from smscd.cli import main as cli_main
    result = CliRunner().invoke(cli_main, ["simulator", "--account", "x", "--outcome", "FOO=3",
                                           "--outcome", "DELIVRD=abc"])
    assert result.exit_code == 2
    assert "--account 'x'" in result.output and "--outcome 'FOO=3'" in result.output
    assert "--outcome 'DELIVRD=abc'" in result.output


def test_send_requires_credentials():
    """`smscd send` without --user/--password must be a usage error, not a bind attempt."""
    from click.testing import CliRunner

    from smscd.cli import main as cli_main
    result = CliRunner().invoke(cli_main, ["send", "--to", "1", "--text", "x"], env={})
    assert result.exit_code == 2 and "--user" in result.output
