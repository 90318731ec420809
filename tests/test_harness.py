"""The test harness's own rules (shared by the benchmarks)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .conftest import free_ports

PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not PORT_RANGE.exists(), reason="Linux says its ephemeral ports there")
def test_free_ports_lie_outside_the_ephemeral_range_and_are_free():
    # A server's port in the ephemeral range let a client polling it before it listened be
    # given that very port and connect to itself (CI read back its own request once).
    low, high = map(int, PORT_RANGE.read_text().split())
    for count in (1, 3) * 20:
        base = free_ports(count)
        for port in range(base, base + count):
            assert not low <= port <= high, (base, count, low, high)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
