"""Load-test `python -m detector serve` on loopback, beside today's server, with hostile clients.

    python bench/serve_load.py [--clients 8] [--requests 2000] [--hostile 500] [--json FILE]

Two servers run one after the other, each in a subprocess on a free 127.0.0.1 port: this
tree's (uvicorn) and the http.server one of commit BASELINE (extracted with `git archive`;
--baseline none skips it). For each: CLIENTS threads (http.client, a new connection per
request) send a fixed mix of requests (mostly one good image each, some multipart forms of 32
images, some bad inputs that must get their 4xx: not an image, wrong size, truncated, a
decompression bomb, a body declared over 64 MiB, a malformed form), first unloaded, then while
HOSTILE connections are held open (bench/hostile_clients.py: idle, slow headers, slow body;
trickled once a second), with GET /health probed before that load. Prints and writes (--json)
requests/s, images/s, p50/p99 latency per kind, every status, the hostile connections' fate
(answered, closed: slow bodies must be cut off by the body deadline), the /health probes and
the server's peak memory (VmRSS, with any worker processes); exit status 1 when this tree's
server misses a target (check).
Bounded: each phase stops after its request count or --max-seconds.
"""

import argparse
import datetime
import http.client
import io
import itertools
import json
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from hostile_clients import HostileClients, MemorySampler, probe_health, rss_mib

ROOT = Path(__file__).resolve().parent.parent
FORM_EVERY, FORM_SIZE, BAD_EVERY = 25, 32, 10  # 1 in 25 requests is a form, 1 in 10 is bad
BASELINE = "9a7d945"  # the last commit with the http.server service
BODY_TIMEOUT_S = 5  # this tree's --body-timeout here: slow bodies must be cut off in the run
OVERSIZED = 64 * 2**20 + 1
MALFORMED_FORM, FORM_TYPE = (b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nunfinished',
                             "multipart/form-data; boundary=B")
HEALTH_TARGET_MS, THROUGHPUT_TARGET = 100, 0.8  # under hostile clients, for this tree's server
HEALTH_TIMEOUT_S, HOSTILE_TIMEOUT_S = 2.0, 5.0  # client timeouts: a probe, a request under hostility


def main() -> int:
    args = parse_args()
    requests = plan(args.requests)
    results = {"date": datetime.date.today().isoformat(), "settings": settings(args), "servers": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, command, cwd in servers(args, Path(tmp)):
            results["servers"][name] = measure(name, command, cwd, requests, args)
    ok = check(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "detector.onnx"),
                        help="model path (default: models/detector.onnx)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests per load phase (default: 2000)")
    parser.add_argument("--hostile", type=int, default=500,
                        help="hostile connections held open (default: 500)")
    parser.add_argument("--probes", type=int, default=20, help="GET /health probes (default: 20)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="requests scored at once: this tree's --concurrency, the "
                             "baseline's --workers (threads) (default: 4)")
    parser.add_argument("--baseline", default=BASELINE,
                        help=f"git commit of today's server, or none (default: {BASELINE})")
    parser.add_argument("--max-seconds", type=float, default=30,
                        help="stop a load phase after this long (default: 30)")
    parser.add_argument("--json", type=Path, help="write the results here (docs/serve_load.json)")
    return parser.parse_args()


def settings(args) -> dict:
    return {"clients": args.clients, "requests": args.requests, "hostile": args.hostile,
            "probes": args.probes, "concurrency": args.concurrency, "baseline": args.baseline,
            "body_timeout_s": BODY_TIMEOUT_S, "form_every": FORM_EVERY, "form_size": FORM_SIZE,
            "bad_every": BAD_EVERY, "max_seconds": args.max_seconds,
            "health_timeout_s": HEALTH_TIMEOUT_S, "hostile_request_timeout_s": HOSTILE_TIMEOUT_S,
            "health_target_ms": HEALTH_TARGET_MS, "throughput_target": THROUGHPUT_TARGET}


def servers(args, tmp: Path) -> list:
    """(name, command, working directory) of each server to measure."""
    common = ["serve", "--port", "0", "--quiet", "--model", args.model]
    out = [("uvicorn", [sys.executable, "-m", "detector", *common, "--concurrency",
                        str(args.concurrency), "--body-timeout", str(BODY_TIMEOUT_S)], ROOT)]
    if args.baseline != "none":
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "detector"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        out.append(("http_server", [sys.executable, "-m", "detector", *common, "--workers",
                                    str(args.concurrency)], tmp))
    return out


def measure(name: str, command: list, cwd: Path, requests: list, args) -> dict:
    """The unloaded run, then the hostile phase, on one fresh server process."""
    server, url = start_server(command, cwd)
    address = tuple(url.split("//")[1].rstrip("/").split(":"))
    address = (address[0], int(address[1]))
    try:
        call(url, requests[0], 30)  # warm-up: first-request costs are not load
        before = rss_mib(server.pid)
        with MemorySampler(server.pid) as memory:
            unloaded = summarize(*run_clients(url, requests, args.clients, args.max_seconds, 30))
            with HostileClients(address, args.hostile) as hostile:
                connected = hostile.connected()
                health = probe_health(address, args.probes, timeout=HEALTH_TIMEOUT_S)
                loaded = summarize(*run_clients(url, requests, args.clients, args.max_seconds,
                                                HOSTILE_TIMEOUT_S))
                time.sleep(max(0.0, BODY_TIMEOUT_S + 2 - loaded["seconds"]))  # let deadlines pass
                fate = hostile.summary()
    finally:
        stop(server)
    result = {"unloaded": unloaded,
              "hostile": {"connections": args.hostile, "connected": connected, "health": health,
                          "load": loaded, "clients": fate,
                          "throughput_ratio": round(loaded["requests_per_s"]
                                                    / unloaded["requests_per_s"], 3)},
              "rss_mib": {"before": round(before, 1), "peak": round(memory.peak, 1)}}
    print_server(name, command, result)
    return result


def start_server(command: list, cwd: Path):
    server = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ready, _, _ = select.select([server.stderr], [], [], 60)
    line = server.stderr.readline().decode() if ready else ""
    if " on http://" not in line:
        server.kill()
        sys.exit(f"serve_load: the server did not start: {line.strip() or 'no output in 60 s'}")
    threading.Thread(target=server.stderr.read, daemon=True).start()  # never let its pipe fill
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
           (png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:], 413),
           (None, 413),  # a body declared over 64 MiB, never sent
           (MALFORMED_FORM, 400)]
    requests = []
    for i in range(count):
        if i % BAD_EVERY == BAD_EVERY - 1:
            body, status = bad[i // BAD_EVERY % len(bad)]
            content_type = FORM_TYPE if body is MALFORMED_FORM else "application/octet-stream"
            requests.append(("bad", body, content_type, status))
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


def call(url: str, request, timeout: float) -> tuple:
    """(status, seconds, answer rows) for one request; status 0: no HTTP answer in time."""
    kind, body, content_type, _ = request
    host, port = url.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    started = time.perf_counter()
    try:
        if body is None:  # declare a body over the limit and send none of it
            connection.putrequest("POST", "/detect")
            connection.putheader("Content-Length", str(OVERSIZED))
            connection.endheaders()
        else:
            connection.request("POST", "/detect", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        status, answer = response.status, response.read()
    except (OSError, http.client.HTTPException):
        status, answer = 0, b""
    finally:
        connection.close()
    return status, time.perf_counter() - started, answer.count(b'"label"')


def run_clients(url: str, requests: list, clients: int, max_seconds: float,
                timeout: float) -> tuple:
    """(request, result) pairs of the requests sent by ``clients`` threads, and the seconds."""
    results = [None] * len(requests)
    counter = itertools.count()
    deadline = time.monotonic() + max_seconds

    def client():
        while time.monotonic() < deadline:
            i = next(counter)
            if i >= len(requests):
                return
            results[i] = call(url, requests[i], timeout)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return [(req, res) for req, res in zip(requests, results) if res is not None], seconds


def stop(server) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def percentile(values: list, q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


def summarize(results: list, seconds: float) -> dict:
    """Throughput, latency per kind, statuses, failures of one load phase."""
    out = {"requests": len(results), "seconds": round(seconds, 2),
           "requests_per_s": round(len(results) / seconds, 1),
           "images_per_s": round(sum(res[2] for _, res in results) / seconds, 1)}
    for kind in ("good", "form", "bad"):
        latencies = [res[1] * 1000 for req, res in results if req[0] == kind]
        out[kind] = {"requests": len(latencies), "p50_ms": round(percentile(latencies, 50), 1),
                     "p99_ms": round(percentile(latencies, 99), 1)}
    statuses = Counter(f"{req[0]} {res[0]}" for req, res in results)
    out["statuses"] = dict(sorted(statuses.items()))
    out["failed_good"] = sum(1 for req, res in results if req[0] != "bad" and res[0] != 200)
    out["wrong_bad"] = sum(1 for req, res in results if req[0] == "bad" and res[0] != req[3])
    out["server_errors"] = sum(1 for _, res in results if res[0] >= 500)
    return out


def print_server(name: str, command: list, result: dict) -> None:
    print(f"{name}: {' '.join(command[1:])}")
    for phase, load in (("unloaded", result["unloaded"]), ("hostile", result["hostile"]["load"])):
        print(f"  {phase:8}: {load['requests']} requests in {load['seconds']} s: "
              f"{load['requests_per_s']} requests/s, {load['images_per_s']} images/s; good p50 "
              f"{load['good']['p50_ms']} ms, p99 {load['good']['p99_ms']} ms; failed good "
              f"{load['failed_good']}, wrong bad {load['wrong_bad']}, 5xx {load['server_errors']}")
        print(f"            statuses: {load['statuses']}")
    hostile, health = result["hostile"], result["hostile"]["health"]
    print(f"  hostile : {hostile['connected']} of {hostile['connections']} connected; /health "
          f"answered {health['answered']} of {health['probes']} (p50 {health['p50_ms']} ms, p99 "
          f"{health['p99_ms']} ms); throughput {hostile['throughput_ratio']:.0%} of unloaded")
    for kind, fate in hostile["clients"].items():
        print(f"            {kind}: {fate}")
    print(f"  memory  : VmRSS {result['rss_mib']['before']} MiB before, peak "
          f"{result['rss_mib']['peak']} MiB")


def check(results: dict) -> bool:
    """This tree's server against the targets; the baseline is measured, not judged."""
    ours = results["servers"]["uvicorn"]
    hostile, health = ours["hostile"], ours["hostile"]["health"]
    slow = hostile["clients"]["slow_body"]
    checks = {
        "no failed good request, wrong status or 5xx": all(
            load["failed_good"] == load["wrong_bad"] == load["server_errors"] == 0
            for load in (ours["unloaded"], hostile["load"])),
        f"/health answered every probe, p99 < {HEALTH_TARGET_MS} ms": (
            health["answered"] == health["probes"] and health["p99_ms"] < HEALTH_TARGET_MS),
        f"throughput >= {THROUGHPUT_TARGET:.0%} of unloaded": (
            hostile["throughput_ratio"] >= THROUGHPUT_TARGET),
        "every slow body cut off (408, closed)": (
            slow["closed_by_server"] == slow["connections"] == slow["statuses"].get("408", 0)),
    }
    results["checks"] = checks
    for what, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}: {what}")
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(main())
