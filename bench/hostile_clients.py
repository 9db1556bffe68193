"""Hostile clients for bench/serve_load.py: connections that hold a server open without finishing
a request, probes of GET /health while they are held, and a sampler of the server's memory.

Three kinds, in turn: idle (connect, send nothing), slow headers (a request line and one more
header byte every second) and slow body (headers with Content-Length 1000, then one body byte
every second). Loopback only; every socket is non-blocking and closed at the end.
"""

import http.client
import socket
import threading
import time
from pathlib import Path

KINDS = ("idle", "slow_headers", "slow_body")
OPENINGS = {"idle": b"",
            "slow_headers": b"GET /health HTTP/1.1\r\nHost: bench\r\nX-Slow: ",
            "slow_body": b"POST /detect HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000\r\n\r\n"}
TRICKLE = {"idle": b"", "slow_headers": b"a", "slow_body": b"\0"}


class HostileClients:
    """``count`` connections to ``address``, trickled once a second on a thread until closed."""

    def __init__(self, address: tuple, count: int):
        self.address, self.count = address, count
        self.sockets = []  # (kind, socket, opened at)
        self.answers = {}  # socket -> (seconds after opening, first bytes the server sent)
        self.closed_by_server = {}  # socket -> seconds after opening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self):
        for i in range(self.count):
            kind = KINDS[i % len(KINDS)]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(self.address)  # EINPROGRESS: a full backlog must not stall the bench
            self.sockets.append((kind, sock, time.monotonic()))
        time.sleep(0.5)
        for kind, sock, _ in self.sockets:
            self._send(sock, OPENINGS[kind])
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for _, sock, _ in self.sockets:
            sock.close()

    def connected(self) -> int:
        return sum(1 for _, sock, _ in self.sockets if _peer(sock))

    def _trickle(self) -> None:
        while not self._stop.wait(1.0):
            for kind, sock, opened in self.sockets:
                self._read(sock, opened)
                if sock not in self.closed_by_server:
                    self._send(sock, TRICKLE[kind])

    def _send(self, sock, data: bytes) -> None:
        if data:
            try:
                sock.send(data)
            except OSError:
                pass  # not connected yet, or closed by the server: _read notices the latter

    def _read(self, sock, opened: float) -> None:
        if sock in self.closed_by_server:
            return
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return  # nothing yet
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        except OSError:
            return  # not connected (yet)
        if data:
            self.answers.setdefault(sock, (time.monotonic() - opened, data[:64]))
        else:  # end of stream: the server closed it
            self.closed_by_server[sock] = time.monotonic() - opened

    def summary(self) -> dict:
        """Per kind: connections, how many the server answered (and with what status), how
        many it closed, and the latest close (seconds after opening)."""
        out = {}
        for kind in KINDS:
            mine = [sock for k, sock, _ in self.sockets if k == kind]
            statuses = [self.answers[s][1].split(b" ")[1].decode() for s in mine
                        if s in self.answers and self.answers[s][1].startswith(b"HTTP/")]
            closed = [self.closed_by_server[s] for s in mine if s in self.closed_by_server]
            out[kind] = {"connections": len(mine), "answered": len(statuses),
                         "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
                         "closed_by_server": len(closed),
                         "latest_close_s": round(max(closed), 1) if closed else None}
        return out


def _peer(sock):
    try:
        return sock.getpeername()
    except OSError:
        return None


def probe_health(address: tuple, probes: int, timeout: float) -> dict:
    """GET /health ``probes`` times, one after another: how many answered 200, and latencies."""
    latencies, failed = [], 0
    for _ in range(probes):
        started = time.perf_counter()
        connection = http.client.HTTPConnection(*address, timeout=timeout)
        try:
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        finally:
            connection.close()
        if ok:
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            failed += 1
    latencies.sort()
    at = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1) \
        if latencies else None
    return {"probes": probes, "answered": len(latencies), "failed_or_timed_out": failed,
            "timeout_s": timeout, "p50_ms": at(0.5), "p99_ms": at(0.99),
            "max_ms": round(latencies[-1], 1) if latencies else None}


class MemorySampler:
    """The peak VmRSS (MiB) of a process and its children, sampled every 0.1 s."""

    def __init__(self, pid: int):
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_mib(self.pid))


def rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` and its direct children, MiB (0 when it is gone)."""
    total = 0
    for proc in [Path(f"/proc/{pid}"), *_children(pid)]:
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)
    return total / 1024


def _children(pid: int) -> list:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                found.append(entry)
        except OSError:
            continue
    return found
