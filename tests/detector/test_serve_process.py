"""`python -m detector serve` as a real process: --workers are processes, SIGTERM lets the
request in flight finish before the process exits, and the start line says where it serves."""

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60  # generous: spawning workers and loading the model on a busy machine


def start(model, *args) -> tuple:
    """(the process, its (host, port)), once it has said where it listens and answers /health."""
    process = subprocess.Popen([sys.executable, "-m", "detector", "serve", "--port", "0", "--quiet",
                                "--model", str(model), *args], cwd=ROOT, stderr=subprocess.PIPE,
                               text=True)
    line = process.stderr.readline()
    match = re.search(r"on http://([\d.]+):(\d+)/", line)
    assert match, line
    address = (match.group(1), int(match.group(2)))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if get(address, "/health")[0] == 200:
                return process, address
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"the server did not answer within {START_TIMEOUT_S} s")


def get(address, path) -> tuple:
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def children(pid: int) -> list:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def stop(process) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def test_workers_are_processes(tiny_model):
    process, address = start(tiny_model, "--workers", "2")
    try:
        assert get(address, "/health") == (200, {"status": "ok", "model": "tiny.onnx"})
        assert len(children(process.pid)) >= 2  # uvicorn's supervisor and its two workers
    finally:
        code = stop(process)
    assert code in (0, -signal.SIGTERM)
    assert children(process.pid) == []


def test_sigterm_finishes_the_request_in_flight(tiny_model, helpers):
    process, address = start(tiny_model)
    image = helpers.encode(np.full((28, 28), 255, np.uint8))
    try:
        with socket.create_connection(address, timeout=30) as sock:
            sock.sendall(b"POST /detect HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                         % len(image) + image[:10])
            time.sleep(0.5)  # the request is in flight: its body is not all there
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert process.poll() is None  # still running: the request is not finished
            sock.sendall(image[10:])
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
        label, confidence = helpers.expected(255)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert json.loads(body) == {"label": label, "confidence": round(confidence, 4)}
    finally:
        code = stop(process)
    assert code in (0, -signal.SIGTERM)  # uvicorn exits by the signal it caught, after shutting down
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=5).close()
    assert "Traceback" not in process.stderr.read()
