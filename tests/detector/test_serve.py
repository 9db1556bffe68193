"""The HTTP service: the Detector API's answers over HTTP, the bad-input corpus' statuses, routes.

A server on a free loopback port, on a thread of this process (uvicorn), runs the tiny model of
conftest.
"""

import http.client
import json
import socket
import uuid
from types import SimpleNamespace
from urllib.parse import urlparse

import numpy as np
import pytest

from detector import load_detector
from detector.server import create_app, serve_in_thread, Settings
from detector.web import ORT_DIST, ORT_FILES, WebFiles
from test_corpus import bad_files, uniform, valid_files

# The corpus' bad files, by the status the server answers for them.
STATUS = {"empty.png": 400, "text.png": 415, "random.jpg": 415, "truncated.png": 400,
          "truncated.jpg": 400, "header-only.png": 400, "bomb.png": 413, "bomb.jpg": 413,
          "bomb.gif": 413, "huge-real.png": 413, "big-real.png": 400, "garbled-lzw.tif": 400,
          "bad-samples.tif": 415}


@pytest.fixture(scope="module")
def server(tiny_model):
    app = create_app(Settings(model=str(tiny_model), concurrency=4, body_timeout=2))
    with serve_in_thread(app) as url:
        where = urlparse(url)
        yield SimpleNamespace(url=url, address=(where.hostname, where.port), app=app)


def call(server, method, path, body=None, headers=None):
    """(status, headers, parsed JSON or raw bytes)."""
    connection = http.client.HTTPConnection(*server.address, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.getheader("Content-Type") == "application/json" and method != "HEAD":
        data = json.loads(data)
    return response.status, response.headers, data


def form(files) -> tuple:
    """A multipart/form-data body of (name, bytes) files, and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = b"".join(b"--%s\r\nContent-Disposition: form-data; name=\"images\"; filename=\"%s\"\r\n"
                    b"Content-Type: application/octet-stream\r\n\r\n%s\r\n"
                    % (boundary.encode(), name.encode(), data) for name, data in files)
    return body + b"--%s--\r\n" % boundary.encode(), f"multipart/form-data; boundary={boundary}"


def raw(server, request: bytes) -> bytes:
    """Send bytes as they are (requests http.client would not make); return the raw answer,
    read until the server closes the connection (these requests ask it to, or it must)."""
    with socket.create_connection(server.address, timeout=30) as sock:
        sock.sendall(request)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def images(encode) -> list:
    rng = np.random.default_rng(1)
    arrays = [uniform(v) for v in (0, 90, 128, 255)] + [
        rng.integers(0, 256, (28, 28), np.uint8) for _ in range(4)]
    return [(f"img{i}.png", encode(a)) for i, a in enumerate(arrays)] + [
        (f"img{i}.jpg", encode(a, "JPEG")) for i, a in enumerate(arrays[4:])]


def test_single_images_answer_like_the_api(server, tiny_model, helpers):
    detector = load_detector(tiny_model)
    for name, data in images(helpers.encode):
        status, _, answer = call(server, "POST", "/detect", data)
        assert (status, answer) == (200, detector.detect(data).as_dict()), name


def test_a_form_answers_a_list_like_the_api(server, tiny_model, helpers):
    files = images(helpers.encode) + [("bad.png", b"not an image")]
    body, content_type = form(files)
    status, _, rows = call(server, "POST", "/detect", body, {"Content-Type": content_type})
    expected = load_detector(tiny_model).detect_many(data for _, data in files)
    assert status == 200 and [row.pop("name") for row in rows] == [n for n, _ in files]
    for row, result in zip(rows, expected):
        assert row == (result.as_dict() if hasattr(result, "as_dict") else {"error": str(result)})


@pytest.mark.parametrize("name", sorted(STATUS))
def test_bad_corpus_gets_its_status_and_a_json_error(server, helpers, name):
    status, _, answer = call(server, "POST", "/detect", bad_files(helpers.encode)[name][0])
    assert status == STATUS[name] and list(answer) == ["error"], answer
    assert "Traceback" not in answer["error"]
    assert call(server, "GET", "/health")[:3:2] == (200, {"status": "ok", "model": "tiny.onnx"})


def test_wrong_size_says_how_to_resize_and_resize_works(server, helpers):
    data = helpers.encode(uniform(0, (40, 30)))
    status, _, answer = call(server, "POST", "/detect", data)
    assert (status, answer) == (400, {"error": "image is 30x40, expected 28x28; add ?resize=1 "
                                               "to scale it"})
    label, confidence = helpers.expected(0)
    assert call(server, "POST", "/detect?resize=1", data)[2] == {
        "label": label, "confidence": round(confidence, 4)}


@pytest.mark.parametrize("name", sorted(valid_files(lambda *a, **k: b"")))
def test_valid_corpus_gets_its_known_answer(server, helpers, name):
    data, mean = valid_files(helpers.encode)[name]
    status, _, answer = call(server, "POST", "/detect", data)
    label, confidence = helpers.expected(mean)
    assert status == 200 and answer["label"] == label
    assert answer["confidence"] == pytest.approx(confidence, abs=3e-3 if ".jpg" in name else 1e-4)


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /detect HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (64 * 2**20 + 1), 413),
    (b"POST /detect HTTP/1.1\r\nHost: x\r\n\r\n", 411),
    (b"POST /detect HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
     b"\r\n0\r\n\r\n", 400),
    (b"POST /detect HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort", 408),
])
def test_malformed_requests_get_a_json_error(server, request_bytes, status):
    """A chunked body is read (this one is empty: no image); a body that stops short of its
    length gets 408 once the body deadline (2 s here) passes."""
    head, _, body = raw(server, request_bytes).partition(b"\r\n\r\n")
    assert int(head.split()[1]) == status and "error" in json.loads(body)
    assert call(server, "GET", "/health")[0] == 200


@pytest.mark.parametrize("request_bytes", [b"NONSENSE\r\n\r\n", b"BREW /detect HTTP/1.1\r\n\r\n",
                                           b"POST /detect HTTP/1.1\r\nContent-Length: ten\r\n\r\n"])
def test_what_is_not_http_gets_uvicorns_400(server, request_bytes):
    """Refused by the HTTP layer, before the app: uvicorn's plain-text 400, connection closed."""
    assert raw(server, request_bytes).startswith(b"HTTP/1.1 400 ")
    assert call(server, "GET", "/health")[0] == 200


def test_a_chunked_upload_is_read(server, helpers):
    data = helpers.encode(uniform(255))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece)
                       for piece in (data[:10], data[10:])) + b"0\r\n\r\n"
    head, _, body = raw(server, b"POST /detect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n" + chunked).partition(b"\r\n\r\n")
    label, confidence = helpers.expected(255)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(body) == {"label": label, "confidence": round(confidence, 4)}


def test_keep_alive_answers_several_requests_on_one_connection(server):
    connection = http.client.HTTPConnection(*server.address, timeout=30)
    try:
        for _ in range(3):
            connection.request("GET", "/health")
            response = connection.getresponse()
            assert (response.status, response.getheader("Connection")) == (200, None)
            response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("body, status", [
    (b"--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nunfinished", 400),
    (b"no boundary at all", 400),
    (b"--B--\r\n", 400),  # no files
    (b"--B\r\n\r\nx\r\n" * 1001 + b"--B--\r\n", 413),
])
def test_malformed_forms(server, body, status):
    answer = call(server, "POST", "/detect", body,
                  {"Content-Type": "multipart/form-data; boundary=B"})
    assert answer[0] == status and "error" in answer[2]


def test_model_metadata(server, helpers):
    status, _, info = call(server, "GET", "/model")
    meta = helpers.METADATA
    assert status == 200 and info["file"] == "tiny.onnx"
    assert (info["kind"], info["image_size"], info["labels"], info["class_names"]) == (
        meta["kind"], [28, 28], ["real", "generated"], json.loads(meta["class_names"]))
    assert info["normalization"] == json.loads(meta["normalization"])
    assert info["extra"] == {"run": "test", "step": "0", "export_date": "2026-01-01",
                             "project_version": "0.0.0"}
    assert call(server, "GET", "/model.onnx")[2] == server.app.state.service.model_bytes


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/nope", 404), ("POST", "/detect/extra", 404), ("GET", "/ort/other.js", 404),
    ("GET", "/detect", 405), ("POST", "/health", 405), ("DELETE", "/model", 405),
    ("PUT", "/", 405)])
def test_unknown_paths_and_wrong_methods(server, method, path, status):
    answer = call(server, method, path, b"" if method != "GET" else None)
    assert answer[0] == status and "error" in answer[2]
    if status == 405:
        assert answer[1]["Allow"] in ("POST", "GET, HEAD")


def test_head_of_a_post_only_path_is_refused_naming_head(server):
    status, headers, _ = call(server, "HEAD", "/detect")
    assert (status, headers["Allow"]) == (405, "POST")
    assert call(server, "PUT", "/health", b"")[2] == {"error": "/health answers GET, HEAD, not PUT"}


def test_head_has_no_body(server):
    status, headers, body = call(server, "HEAD", "/health")
    assert (status, body) == (200, b"") and int(headers["Content-Length"]) > 0


def test_a_bug_is_a_500_and_the_server_lives_on(server, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.app.state.service.detector, "detect", broken)
    status, _, answer = call(server, "POST", "/detect", b"x")
    assert status == 500 and "RuntimeError" in answer["error"]
    monkeypatch.undo()
    assert call(server, "GET", "/health")[0] == 200


def test_page_is_served_without_onnxruntime_web(tmp_path):
    """Without node_modules the page is still there (it falls back to POST /detect) and the
    runtime's files are a 404 the page's script tag notices."""
    (tmp_path / "index.html").write_text("<title>page</title>")
    web = WebFiles(tmp_path)
    assert (web.get("/").status, web.get("/").body) == (200, b"<title>page</title>")
    assert web.missing() == [str(ORT_DIST / name) for name in ORT_FILES]
    runtime = web.get("/ort/ort.wasm.min.js")
    assert runtime.status == 404 and "ort.wasm.min.js" in json.loads(runtime.body)["error"]
    for name in ORT_FILES:
        (tmp_path / ORT_DIST).mkdir(parents=True, exist_ok=True)
        (tmp_path / ORT_DIST / name).write_bytes(b"js")
    assert web.missing() == []
    assert web.get("/ort/ort-wasm-simd-threaded.wasm").content_type == "application/wasm"
    assert web.get("/ort/../index.html") is None and web.get("/node_modules/x") is None
    assert set(web.paths()) >= {"/", "/app.js", "/remote.js", "/ort/ort.wasm.min.js"}


def test_serve_is_a_subcommand_and_dot_slash_serve_is_a_file(cli, tiny_model, helpers, tmp_path,
                                                               monkeypatch):
    code, out, _ = cli("serve", "--help")
    assert code == 0 and out.startswith("usage: python -m detector serve")
    (tmp_path / "serve").write_bytes(helpers.encode(uniform(255)))
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("--model", tiny_model, "./serve")
    assert (code, json.loads(out)["label"]) == (0, "real")


def test_serve_fails_in_one_line(cli, tiny_model, tmp_path, server):
    code, out, err = cli("serve", "--model", tmp_path / "missing.onnx", "--port", "0")
    assert code == 1 and err.startswith("detector: model file not found") and err.count("\n") == 1
    code, out, err = cli("serve", "--model", tiny_model, "--port", server.address[1])
    assert code == 1 and "cannot listen on 127.0.0.1:" in err and err.count("\n") == 1
    assert cli("serve", "--port", "70000")[0] == 2


def test_bodies_past_the_buffer_limit_get_503_and_the_budget_comes_back(tiny_model, helpers):
    """The bytes of bodies held at once are bounded per process: past the limit, 503."""
    small = helpers.encode(uniform(255))
    big = helpers.encode(np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8))
    limit = 2 * len(small)
    assert len(big) > limit
    app = create_app(Settings(model=str(tiny_model), buffer_limit=limit))
    with serve_in_thread(app) as url:
        where = urlparse(url)
        server = SimpleNamespace(address=(where.hostname, where.port))
        for _ in range(3):  # each request gives its bytes back, refused or answered
            status, _, answer = call(server, "POST", "/detect", big)
            assert (status, answer) == (503, {"error": "the server holds too many uploads now; retry"})
            assert call(server, "POST", "/detect", small)[0] == 200


@pytest.mark.parametrize("settings", [Settings(), Settings(model="discriminator", sha256="ab" * 32,
                                                           threads=1, concurrency=2,
                                                           body_timeout=1.5, buffer_limit=10)])
def test_settings_travel_to_worker_processes_through_the_environment(settings):
    env = {"DETECTOR_MODEL": "set elsewhere", **settings.to_env()}
    assert Settings.from_env(env) == settings
    assert Settings.from_env({}) == Settings()
