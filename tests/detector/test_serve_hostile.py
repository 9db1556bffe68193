"""Hostile clients, bounded and short (bench/serve_load.py has the 500-connection run): while 51
connections are held open without finishing a request (idle, slow headers, slow body), the
service still answers GET /health and POST /detect, and cuts the slow bodies off with a 408.
Asserts on being answered at all within generous timeouts, not on speed."""

import http.client
import time
from urllib.parse import urlparse

import numpy as np
import pytest

from bench.hostile_clients import HostileClients, KINDS, probe_health
from detector.server import create_app, serve_in_thread, Settings

HOSTILE = 51  # 17 of each kind
BODY_TIMEOUT_S = 1
GENEROUS_S = 30


@pytest.fixture(scope="module")
def address(tiny_model):
    app = create_app(Settings(model=str(tiny_model), concurrency=2, body_timeout=BODY_TIMEOUT_S))
    with serve_in_thread(app) as url:
        where = urlparse(url)
        yield where.hostname, where.port


def detect(address, body: bytes) -> tuple:
    connection = http.client.HTTPConnection(*address, timeout=GENEROUS_S)
    try:
        connection.request("POST", "/detect", body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_held_connections_stall_nothing_and_slow_bodies_are_cut_off(address, helpers):
    with HostileClients(address, HOSTILE) as hostile:
        assert hostile.connected() == HOSTILE
        health = probe_health(address, 3, timeout=GENEROUS_S)
        assert health["answered"] == 3, health
        status, _ = detect(address, helpers.encode(np.full((28, 28), 255, np.uint8)))
        assert status == 200
        deadline = time.monotonic() + GENEROUS_S
        while (hostile.summary()["slow_body"]["closed_by_server"] < HOSTILE // len(KINDS)
               and time.monotonic() < deadline):
            time.sleep(0.5)
        fate = hostile.summary()
    assert fate["slow_body"]["statuses"] == {"408": HOSTILE // len(KINDS)}
    assert fate["slow_body"]["closed_by_server"] == HOSTILE // len(KINDS)
    assert fate["idle"]["answered"] == fate["slow_headers"]["answered"] == 0  # still waiting
    assert probe_health(address, 1, timeout=GENEROUS_S)["answered"] == 1  # and all is well after
