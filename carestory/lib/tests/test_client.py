"""The client's address from a configured number of trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from carestory.lib.client import client_ip, client_key


def _request(remote: str = "10.0.0.2", forwarded: str | None = None) -> object:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, None, "10.0.0.2"),
        (0, "203.0.113.9", "10.0.0.2"),  # no trusted proxy: the header is anyone's
        (1, None, "10.0.0.2"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client wrote 1.1.1.1
        (1, "spoofed, 203.0.113.9", "203.0.113.9"),
        (2, "1.1.1.1, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # fewer entries than proxies: the leftmost
        (1, "203.0.113.9:5678", "203.0.113.9"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "::ffff:203.0.113.9", "203.0.113.9"),
        (1, "1.1.1.1, garbage", "10.0.0.2"),  # our proxy wrote nonsense: the connection's
        (1, "1.1.1.1, ", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "1.1.1.1, " + "9" * 5000, "10.0.0.2"),
    ],
)
def test_client_ip(settings: Settings, count: int, forwarded: str | None, expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected  # type: ignore[arg-type]


def test_a_long_header_is_read_in_linear_time(settings: Settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    header = ", ".join(["1.1.1.1"] * 100_000 + ["203.0.113.9"])
    assert client_ip(_request(forwarded=header)) == "203.0.113.9"  # type: ignore[arg-type]


def test_no_address_at_all(settings: Settings) -> None:
    assert client_ip(_request(remote="")) is None  # type: ignore[arg-type]
    assert client_key(_request(remote="")) == "unknown"  # type: ignore[arg-type]


def test_ipv6_clients_are_counted_by_their_64(settings: Settings) -> None:
    one = client_key(_request(remote="2001:db8:1:2::1"))  # type: ignore[arg-type]
    other = client_key(_request(remote="2001:db8:1:2:ffff::9"))  # type: ignore[arg-type]
    assert one == other == "2001:db8:1:2::/64"
    assert client_key(_request(remote="203.0.113.9")) == "203.0.113.9"  # type: ignore[arg-type]
