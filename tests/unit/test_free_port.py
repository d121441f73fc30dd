"""Ports for the processes a stack starts are chosen where no outgoing connection can take them first."""

from __future__ import annotations

import socket

from ttg.broker import LOWEST_CHOSEN_PORT, _first_ephemeral_port, free_port


def test_a_free_port_is_below_the_kernels_range_for_outgoing_connections_and_can_be_bound() -> None:
    first_ephemeral = _first_ephemeral_port()
    ports = {free_port() for _ in range(20)}
    if first_ephemeral > LOWEST_CHOSEN_PORT + 1_000:
        assert all(LOWEST_CHOSEN_PORT <= port < first_ephemeral for port in ports), (ports, first_ephemeral)
    assert len(ports) > 1  # chosen at random, not the same port each time
    for port in ports:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", port))
