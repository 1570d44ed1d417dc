"""HTTP callback connector settings: what is accepted, every problem named with its path."""
from __future__ import annotations

import pytest

from smscd.http_connectors import (HttpConnectorConfig, HttpConnectorError,
                                   http_connector_from_mapping, http_connector_to_mapping)


def test_minimal_connector_gets_jasmin_defaults() -> None:
    """Breaks if GET or the timeouts stop being the defaults, or the method case is kept."""
    c = http_connector_from_mapping({"id": "HTTP-01", "url": "http://10.10.20.125/mo.php"})
    assert c == HttpConnectorConfig("HTTP-01", "http://10.10.20.125/mo.php", "GET")
    assert http_connector_from_mapping({"id": "h01", "url": "https://x.example/",
                                        "method": "post"}).method == "POST"


def test_round_trip_through_mapping() -> None:
    """Breaks if the mapping form loses a setting (auth, headers, timeouts)."""
    c = http_connector_from_mapping({
        "id": "h01", "url": "https://x.example:8443/mo", "method": "POST",
        "username": "u", "password": "secret", "headers": {"X-Api": "k"},
        "connect_timeout": 2, "timeout": 5.5})
    assert http_connector_from_mapping(http_connector_to_mapping(c), "x") == c


def test_password_not_in_repr() -> None:
    """Breaks if a connector's basic-auth password can reach a log line through repr."""
    c = http_connector_from_mapping({"id": "h01", "url": "http://x/", "username": "u",
                                     "password": "s3cr3t"})
    assert "s3cr3t" not in repr(c)


def test_every_problem_is_named() -> None:
    """Breaks if a bad value is accepted or reported without its path."""
    with pytest.raises(HttpConnectorError) as e:
        http_connector_from_mapping({
            "id": "x", "url": "ftp://host/", "method": "PUT", "username": "u",
            "headers": {"Bad Name": "v", "Authorization": "Basic x", "X-Ok": "a\r\nb"},
            "timeout": 0, "colour": "blue"}, "http_connectors[2]")
    assert e.value.problems == [
        "http_connectors[2].colour: unknown key",
        "http_connectors[2].id: 3..25 characters among A-Z a-z 0-9 _ -",
        "http_connectors[2].url: an absolute http:// or https:// URL with a host, "
        "got 'ftp://host/'",
        "http_connectors[2].method: must be GET or POST, got 'PUT'",
        "http_connectors[2].password: basic auth needs both username and password",
        "http_connectors[2].headers.Bad Name: not a valid header name",
        "http_connectors[2].headers.Authorization: set username and password for basic "
        "auth instead",
        "http_connectors[2].headers.X-Ok: a string on one line",
        "http_connectors[2].timeout: seconds, a number > 0 and <= 3600, got 0"]


@pytest.mark.parametrize("url", ["http://", "http://h:99999/", "/relative", "http://a b/", 3])
def test_bad_urls(url: object) -> None:
    """Breaks if a URL the sender could not call is accepted."""
    with pytest.raises(HttpConnectorError, match="url"):
        http_connector_from_mapping({"id": "h01", "url": url})


def test_not_a_mapping() -> None:
    with pytest.raises(HttpConnectorError, match=r"h\[0\]: expected a mapping"):
        http_connector_from_mapping(["id"], "h[0]")
