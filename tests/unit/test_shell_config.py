"""The `shell` section of smscd.yaml: loopback by default, authentication on, and no
listener open to the network without a login."""
from __future__ import annotations

import pytest

from smscd.config import ConfigError, default_config, load_config


def test_defaults_are_jcli_s():
    shell = default_config().shell
    assert (shell.host, shell.port, shell.authentication) == ("127.0.0.1", 8990, True)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_authentication_may_be_off_on_loopback(host):
    shell = load_config({"shell": {"host": host, "authentication": False}}).shell
    assert shell.authentication is False


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "shell.example.net"])
def test_a_network_listener_needs_authentication(host):
    with pytest.raises(ConfigError) as e:
        load_config({"shell": {"host": host, "authentication": False}})
    assert e.value.problems == [f"shell.authentication: must be true when shell.host "
                                f"({host}) is not a loopback address"]


def test_bad_values_are_named():
    with pytest.raises(ConfigError) as e:
        load_config({"shell": {"port": "8990", "authentication": "yes", "colour": 1}})
    assert e.value.problems == [
        "shell.colour: unknown key",
        "shell.port: expected an integer 0..65535, got '8990'",
        "shell.authentication: expected true or false, got 'yes'"]
