"""The test harness's own rules (shared by the benchmarks)."""

from __future__ import annotations

import socket

from .conftest import ephemeral_ports, free_ports


def test_free_ports_lie_outside_the_ephemeral_range_and_are_free():
    # A server's port in the ephemeral range let a client polling it before it listened be
    # given that very port and connect to itself (CI read back its own request once).
    ephemeral = ephemeral_ports()
    for count in (1, 3) * 20:
        base = free_ports(count)
        ports = range(base, base + count)
        assert not set(ports) & set(ephemeral), (base, count, ephemeral)
        for port in ports:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
