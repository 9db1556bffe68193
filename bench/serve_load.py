"""Load-test `python -m detector serve` on loopback: throughput, latency, errors, memory.

    python bench/serve_load.py [--clients 8] [--requests 2000] [--max-seconds 60]

Starts the server in a subprocess on a free 127.0.0.1 port, then CLIENTS threads (urllib) send
a fixed number of requests: mostly one good image each, some multipart forms of 32 images, and
some bad inputs (not an image, wrong size, truncated, a decompression bomb) that must get their
4xx status. Prints requests/s, images/s, p50/p99 latency, every status seen, and the server's
resident memory (VmRSS) before and after. Stops by itself after the count or the time limit;
exit status 1 if any good request failed or a bad one got an unexpected status.
"""

import argparse
import io
import itertools
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FORM_EVERY, FORM_SIZE, BAD_EVERY = 25, 32, 10  # 1 in 25 requests is a form, 1 in 10 is bad


def main() -> int:
    args = parse_args()
    server, url = start_server(args)
    try:
        requests = plan(args.requests)
        call(url, requests[0])  # warm-up: first-request costs are not load
        before = rss_kib(server.pid)
        results, seconds = run_clients(url, requests, args.clients, args.max_seconds)
        after = rss_kib(server.pid)
    finally:
        stop(server)
    return report(results, seconds, before, after, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="detector",
                        help="model name or path (default: detector)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests in all (default: 2000)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server --workers, processes (default: 1)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="server --concurrency, model runs at once (default: 4)")
    parser.add_argument("--max-seconds", type=float, default=60,
                        help="stop sending after this long (default: 60)")
    return parser.parse_args()


def start_server(args):
    command = [sys.executable, "-m", "detector", "serve", "--port", "0", "--quiet",
               "--model", args.model, "--workers", str(args.workers),
               "--concurrency", str(args.concurrency)]
    server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ready, _, _ = select.select([server.stderr], [], [], 60)
    line = server.stderr.readline().decode() if ready else ""
    if " on http://" not in line:
        server.kill()
        sys.exit(f"serve_load: the server did not start: {line.strip() or 'no output in 60 s'}")
    print(f"server: {' '.join(command[1:])}\n  {line.strip()}")
    return server, line.split(" on ")[1].split()[0]


def encode(array, format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format)
    return buffer.getvalue()


def plan(count: int) -> list:
    """(kind, body, content type, expected status) per request, in a fixed mix."""
    rng = np.random.default_rng(0)
    good = [p.read_bytes() for p in sorted((ROOT / "examples").glob("*.png"))]
    good += [encode(rng.integers(0, 256, (28, 28), np.uint8), f) for f in ("PNG", "JPEG")]
    png = good[0]
    ihdr = b"IHDR" + (100_000).to_bytes(4, "big") * 2 + png[24:29]
    bad = [(b"not an image at all\n", 415), (encode(np.zeros((40, 40), np.uint8)), 400),
           (png[:len(png) // 2], 400),
           (png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:], 413)]
    requests = []
    for i in range(count):
        if i % BAD_EVERY == BAD_EVERY - 1:
            body, status = bad[i // BAD_EVERY % len(bad)]
            requests.append(("bad", body, "application/octet-stream", status))
        elif i % FORM_EVERY == FORM_EVERY - 1:
            body, content_type = form(list(itertools.islice(itertools.cycle(good), FORM_SIZE)))
            requests.append(("form", body, content_type, 200))
        else:
            requests.append(("good", good[i % len(good)], "image/png", 200))
    return requests


def form(files: list) -> tuple:
    boundary = uuid.uuid4().hex.encode()
    head = b'--%s\r\nContent-Disposition: form-data; name="f"; filename="%d.png"\r\n\r\n'
    parts = [head % (boundary, i) + data + b"\r\n" for i, data in enumerate(files)]
    return (b"".join(parts) + b"--%s--\r\n" % boundary,
            f"multipart/form-data; boundary={boundary.decode()}")


def call(url: str, request) -> tuple:
    """(status, seconds, answer rows) for one request; status 0: no HTTP answer."""
    kind, body, content_type, _ = request
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(
                url + "detect", data=body, headers={"Content-Type": content_type}),
                timeout=30) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    except OSError as exc:
        status, answer = 0, str(exc).encode()
    rows = answer.count(b'"label"')
    return status, time.perf_counter() - started, rows


def run_clients(url: str, requests: list, clients: int, max_seconds: float) -> tuple:
    results = [None] * len(requests)
    counter = itertools.count()
    deadline = time.monotonic() + max_seconds

    def client():
        while time.monotonic() < deadline:
            i = next(counter)
            if i >= len(requests):
                return
            results[i] = call(url, requests[i])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return [(req, res) for req, res in zip(requests, results) if res is not None], seconds


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def stop(server) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def percentile(values: list, q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def report(results: list, seconds: float, before: int, after: int, args) -> int:
    statuses = Counter((req[0], res[0]) for req, res in results)
    failed_good = sum(1 for req, res in results if req[0] != "bad" and res[0] != 200)
    wrong_bad = sum(1 for req, res in results if req[0] == "bad" and res[0] != req[3])
    images = sum(res[2] for _, res in results)
    print(f"load: {len(results)} of {args.requests} requests from {args.clients} clients in "
          f"{seconds:.2f} s: {len(results) / seconds:.0f} requests/s, {images / seconds:.0f} "
          f"images scored/s")
    for kind in ("good", "form", "bad"):
        latencies = [res[1] * 1000 for req, res in results if req[0] == kind]
        if latencies:
            print(f"  {kind:4}: {len(latencies):5} requests, latency p50 "
                  f"{percentile(latencies, 50):6.1f} ms, p99 {percentile(latencies, 99):6.1f} ms")
    print("  statuses: " + ", ".join(f"{kind} {status}: {n}" for (kind, status), n
                                     in sorted(statuses.items())))
    print(f"  failed good requests: {failed_good}; bad requests with an unexpected status: "
          f"{wrong_bad}")
    print(f"server memory (VmRSS): {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after")
    return 1 if failed_good or wrong_bad else 0


if __name__ == "__main__":
    sys.exit(main())
