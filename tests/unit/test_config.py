"""conf/smscd.yaml loading: one schema, strict keys and types, every problem at once."""
import dataclasses
import pathlib
import re

import pytest
import yaml

from smscd.config import (SECTIONS, TOP_KEYS, ConfigError, default_config, load_config,
                          load_config_file, schema_keys)

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONF = ROOT / "conf" / "smscd.yaml"


def problems_of(raw: object, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(raw, env)  # type: ignore[arg-type]
    return info.value.problems


def problems_in_file(tmp_path: pathlib.Path, text: str) -> list[str]:
    path = tmp_path / "smscd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    return info.value.problems


def test_documented_file_is_the_default() -> None:
    """Breaks when conf/smscd.yaml and the schema's defaults drift apart."""
    assert load_config_file(CONF, env={}) == default_config(env={})


def test_documented_file_names_every_key() -> None:
    """Breaks when a key is added to the schema but not documented in conf/smscd.yaml."""
    raw = yaml.safe_load(CONF.read_text())
    written = [k for k, v in raw.items() if not isinstance(v, dict)]
    written += [f"{s}.{k}" for s, body in raw.items() if isinstance(body, dict) for k in body]
    assert sorted(written) == sorted(schema_keys())


def test_documented_file_comments_every_key() -> None:
    """Breaks when a key line in conf/smscd.yaml has no comment line right above it."""
    lines = CONF.read_text().splitlines()
    keys = [i for i, line in enumerate(lines) if re.match(r"\s*\w+:", line)]
    assert len(keys) == len(schema_keys()) + len(SECTIONS)
    assert [lines[i] for i in keys if not lines[i - 1].lstrip().startswith("#")] == []


def test_schema_matches_the_result_classes() -> None:
    """Breaks when a section's declared keys and its frozen dataclass disagree."""
    for section in SECTIONS:
        assert [k.name for k in section.keys] == [f.name for f in
                                                  dataclasses.fields(section.cls)]
        assert section.cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert len(set(schema_keys())) == len(schema_keys())
    assert all(k.help for k in TOP_KEYS) and all(k.help for s in SECTIONS for k in s.keys)


def test_empty_mapping_uses_the_defaults_without_the_demo() -> None:
    """Breaks if a configuration file that omits `demo` starts the fake vendor connector."""
    loaded = load_config({})
    assert loaded.demo.simulator is False
    assert dataclasses.replace(loaded, demo=default_config().demo) == default_config()
    assert default_config().demo.simulator is True


def test_defaults() -> None:
    """Breaks when a documented default changes by accident."""
    c = default_config()
    assert c.data_dir == pathlib.Path("var")
    assert (c.smpp_server.host, c.smpp_server.port) == ("127.0.0.1", 2775)
    assert (c.smpp_server.max_pdu_size, c.smpp_server.window) == (68000, 10)
    assert (c.smpp_server.session_init_timeout, c.smpp_server.enquire_link_interval,
            c.smpp_server.inactivity_timeout, c.smpp_server.response_timeout) == (30, 30, 300, 10)
    assert (c.text.max_parts, c.text.reassembly_max_groups, c.text.reassembly_max_bytes,
            c.text.reassembly_timeout) == (255, 10000, 16777216, 300)
    assert (c.store.group_commit_max_batch, c.store.group_commit_interval_ms) == (256, 2)
    assert c.store_path == pathlib.Path("var/smscd.sqlite3")
    assert (c.log.level, c.log.file) == ("info", None)


def test_result_is_frozen() -> None:
    """Breaks if a loaded configuration can be changed after validation."""
    c = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.smpp_server.port = 1  # type: ignore[misc]


def test_values_are_read() -> None:
    """Breaks when a valid value in the file is ignored or converted wrongly."""
    c = load_config({"data_dir": "/srv/smscd",
                     "smpp_server": {"host": "::1", "port": 2776, "response_timeout": 2.5},
                     "store": {"path": "/abs/db.sqlite3", "group_commit_interval_ms": 0},
                     "log": {"level": "debug", "file": "/var/log/smscd.log"},
                     "demo": {"simulator": True}})
    assert c.smpp_server.port == 2776 and c.smpp_server.response_timeout == 2.5
    assert c.smpp_server.host == "::1"
    assert c.store_path == pathlib.Path("/abs/db.sqlite3")
    assert c.store.group_commit_interval_ms == 0.0
    assert c.log.file == pathlib.Path("/var/log/smscd.log")
    assert c.demo.simulator is True
    assert isinstance(load_config({"smpp_server": {"window": 3}}).smpp_server.inactivity_timeout,
                      float)


def test_every_problem_is_reported_with_its_key_path() -> None:
    """Breaks if loading stops at the first problem or a message loses its key path."""
    assert problems_of({"smpp_server": {"port": "abc", "prt": 1}, "colour": "blue",
                        "log": {"level": "loud"}}) == [
        "colour: unknown key",
        "smpp_server.prt: unknown key",
        "smpp_server.port: expected an integer 0..65535, got 'abc'",
        "log.level: expected one of debug, info, warning, error, got 'loud'",
    ]


@pytest.mark.parametrize("section, key, value, expected", [
    ("smpp_server", "port", -1, "an integer 0..65535, got -1"),
    ("smpp_server", "port", 65536, "an integer 0..65535, got 65536"),
    ("smpp_server", "port", "2775", "an integer 0..65535, got '2775'"),
    ("smpp_server", "port", 2775.0, "an integer 0..65535, got 2775.0"),
    ("smpp_server", "port", True, "an integer 0..65535, got true"),
    ("smpp_server", "max_pdu_size", 15, "an integer >= 16, got 15"),
    ("smpp_server", "window", 0, "an integer >= 1, got 0"),
    ("smpp_server", "host", "", "a non-empty string, got ''"),
    ("smpp_server", "host", None, "a non-empty string, got null"),
    ("smpp_server", "session_init_timeout", 0, "a number > 0, got 0"),
    ("smpp_server", "enquire_link_interval", -1.5, "a number > 0, got -1.5"),
    ("smpp_server", "inactivity_timeout", float("inf"), "a number > 0, got inf"),
    ("smpp_server", "response_timeout", "10s", "a number > 0, got '10s'"),
    ("text", "max_parts", 256, "an integer 1..255, got 256"),
    ("text", "reassembly_max_groups", 0, "an integer >= 1, got 0"),
    ("text", "reassembly_max_bytes", [1], "an integer >= 1, got a list"),
    ("text", "reassembly_timeout", 0, "a number > 0, got 0"),
    ("store", "path", 3, "a non-empty string, got 3"),
    ("store", "group_commit_max_batch", 0, "an integer >= 1, got 0"),
    ("store", "group_commit_interval_ms", 1001, "a number 0..1000, got 1001"),
    ("log", "file", {"a": 1}, "a non-empty string or null, got a mapping"),
    ("demo", "simulator", "yes please", "true or false, got 'yes please'"),
    ("demo", "simulator", 1, "true or false, got 1"),
])
def test_types_and_ranges_are_checked(section: str, key: str, value: object,
                                      expected: str) -> None:
    """Breaks when a value of the wrong type or out of range is accepted or coerced."""
    assert problems_of({section: {key: value}}) == [f"{section}.{key}: expected {expected}"]


def test_section_must_be_a_mapping_but_may_be_empty() -> None:
    """Breaks if `smpp_server: 2775` is accepted, or `log:` with every key commented out
    is refused."""
    assert problems_of({"smpp_server": 2775}) == ["smpp_server: expected a mapping, got 2775"]
    assert load_config({"log": None}).log == default_config().log


def test_data_dir_environment_override() -> None:
    """Breaks if $SMSCD_DATA_DIR stops overriding data_dir, or a bad value in it or in the
    file goes unreported."""
    assert load_config({"data_dir": "/a"}, env={"SMSCD_DATA_DIR": "/b"}).data_dir == \
        pathlib.Path("/b")
    assert default_config(env={"SMSCD_DATA_DIR": "/b"}).store_path == \
        pathlib.Path("/b/smscd.sqlite3")
    assert load_config({}, env={"OTHER": "x"}).data_dir == pathlib.Path("var")
    assert problems_of({"data_dir": 5}, env={"SMSCD_DATA_DIR": ""}) == [
        "data_dir: expected a non-empty string, got 5",
        "data_dir (from $SMSCD_DATA_DIR): expected a non-empty string, got ''",
    ]


def test_yaml_errors_name_the_file_line_and_column(tmp_path: pathlib.Path) -> None:
    """Breaks if a YAML syntax error is reported without where it is."""
    [problem] = problems_in_file(tmp_path, "smpp_server:\n  port: 2775\n host: x\n")
    assert problem.startswith(f"{tmp_path / 'smscd.yaml'}: line 3, column 2: ")


def test_duplicate_keys_are_errors(tmp_path: pathlib.Path) -> None:
    """Breaks if a key given twice silently keeps the last value (PyYAML's default)."""
    [problem] = problems_in_file(tmp_path, "smpp_server:\n  port: 1\n  port: 2\n")
    assert problem.endswith("line 3, column 3: found duplicate key 'port' (while constructing "
                            "a mapping at line 2, column 3)")


def test_missing_file(tmp_path: pathlib.Path) -> None:
    """Breaks if a missing configuration file is not reported by name."""
    with pytest.raises(ConfigError) as info:
        load_config_file(tmp_path / "nope.yaml")
    assert info.value.problems == [f"{tmp_path / 'nope.yaml'}: no such file"]


@pytest.mark.parametrize("text, shown", [("- a\n- b\n", "a list"), ("just text\n", "'just text'")])
def test_top_level_must_be_a_mapping(tmp_path: pathlib.Path, text: str, shown: str) -> None:
    """Breaks if a file whose top level is not a mapping is accepted or crashes the loader."""
    assert problems_in_file(tmp_path, text) == [
        f"{tmp_path / 'smscd.yaml'}: expected a mapping of settings at the top level, "
        f"got {shown}"]


def test_comment_only_file_is_all_defaults(tmp_path: pathlib.Path) -> None:
    """Breaks if a file with every key commented out is refused instead of meaning defaults."""
    path = tmp_path / "smscd.yaml"
    path.write_text("# nothing set\n")
    assert load_config_file(path) == load_config({})


def test_yaml_is_loaded_safely(tmp_path: pathlib.Path) -> None:
    """Breaks if the loader constructs arbitrary Python objects from YAML tags."""
    [problem] = problems_in_file(tmp_path, "data_dir: !!python/object/apply:os.getcwd []\n")
    assert "could not determine a constructor" in problem
