"""The files of the page the server shows at ``/``: detector/web/ and onnxruntime-web's runtime.

The page runs the model in the browser with onnxruntime-web, whose files (14 MB) are not in the
repository: ``npm ci --prefix detector/web`` fetches the pinned version (package-lock.json) into
detector/web/node_modules/. Without them ``/`` answers 503 with a page that says so.
"""

import html
from pathlib import Path
from typing import NamedTuple

WEB_DIR = Path(__file__).resolve().parent / "web"
ORT_PACKAGE = Path("node_modules") / "onnxruntime-web"
ORT_DIST = ORT_PACKAGE / "dist"
# What the page loads: the WebAssembly-only runtime (ort.min.js would also want the 28 MB
# WebGPU build) and the build it picks (SIMD, threads allowed).
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
PAGE_FILES = {"/": "index.html", "/index.html": "index.html", "/app.js": "app.js",
              "/detect.js": "detect.js", "/style.css": "style.css"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".wasm": "application/wasm"}
FETCH_COMMAND = "npm ci --prefix detector/web"

MISSING_PAGE = """<!doctype html>
<meta charset="utf-8"><title>Detector: onnxruntime-web is missing</title>
<h1>The page needs onnxruntime-web</h1>
<p>The browser runs the model with onnxruntime-web, which is not in the repository.
Fetch the pinned version (Node.js and npm needed), then reload:</p>
<pre>{command}</pre>
<p>Missing: {missing}</p>
<p>The HTTP API works without it: <code>POST /detect</code>, <code>GET /model</code>,
<code>GET /health</code>.</p>
"""


class Response(NamedTuple):
    """An HTTP answer, apart from sockets (the server sends it; service.py makes most)."""

    status: int
    content_type: str
    body: bytes
    headers: tuple = ()  # extra (name, value) pairs


class WebFiles:
    """Maps the page's URL paths to files; ``route`` has the Service's (method, answer) form."""

    def __init__(self, root: Path = WEB_DIR):
        self.root = Path(root)

    def missing(self) -> list:
        """The onnxruntime-web files the page needs that are not installed."""
        return [str(ORT_DIST / name) for name in ORT_FILES
                if not (self.root / ORT_DIST / name).is_file()]

    def route(self, path: str):
        if path in PAGE_FILES:
            return "GET", lambda **_: self._page_file(PAGE_FILES[path])
        folder, _, name = path.rpartition("/")
        if folder == "/ort" and name in ORT_FILES:
            return "GET", lambda **_: self._file(self.root / ORT_DIST / name)
        return None

    def _page_file(self, name: str):
        missing = self.missing()
        if name == "index.html" and missing:
            text = MISSING_PAGE.format(command=html.escape(f"cd {self.root.parent.parent} && "
                                                           f"{FETCH_COMMAND}"),
                                       missing=html.escape(", ".join(missing)))
            return Response(503, TYPES[".html"], text.encode())
        return self._file(self.root / name)

    def _file(self, path: Path):
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Response(503 if ORT_DIST.parts[0] in path.parts else 404, TYPES[".html"],
                            f"cannot read {html.escape(str(path))}: {exc.strerror}".encode())
        return Response(200, TYPES.get(path.suffix, "application/octet-stream"), data)
