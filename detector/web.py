"""The files of the page the server shows at ``/``: detector/web/ and onnxruntime-web's runtime.

The page runs the model in the browser with onnxruntime-web, whose files (14 MB) are not in the
repository: ``npm ci --prefix detector/web`` fetches the pinned version (package-lock.json) into
detector/web/node_modules/. Without them ``/ort/...`` answers 404, and the page (app.js) sends
its images to the server's ``POST /detect`` instead (remote.js), saying so on each answer.
"""

import json
from pathlib import Path
from typing import NamedTuple

WEB_DIR = Path(__file__).resolve().parent / "web"
ORT_PACKAGE = Path("node_modules") / "onnxruntime-web"
ORT_DIST = ORT_PACKAGE / "dist"
# What the page loads: the WebAssembly-only runtime (ort.min.js would also want the 28 MB
# WebGPU build) and the build it picks (SIMD, threads allowed).
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
PAGE_FILES = {"/": "index.html", "/index.html": "index.html", "/app.js": "app.js",
              "/detect.js": "detect.js", "/remote.js": "remote.js", "/style.css": "style.css"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".wasm": "application/wasm"}
FETCH_COMMAND = "npm ci --prefix detector/web"


class Response(NamedTuple):
    """A file of the page as an HTTP answer, apart from the server (which sends it)."""

    status: int
    content_type: str
    body: bytes
    headers: tuple = ()  # extra (name, value) pairs


class WebFiles:
    """Maps the page's URL paths (``paths``) to the files they answer with (``get``)."""

    def __init__(self, root: Path = WEB_DIR):
        self.root = Path(root)

    def missing(self) -> list:
        """The onnxruntime-web files the page needs that are not installed."""
        return [str(ORT_DIST / name) for name in ORT_FILES
                if not (self.root / ORT_DIST / name).is_file()]

    def paths(self) -> list:
        """Every URL path of the page, its runtime's included (answered or not)."""
        return [*PAGE_FILES, *(f"/ort/{name}" for name in ORT_FILES)]

    def get(self, path: str) -> "Response | None":
        """The file at URL ``path``, a 404 Response when it cannot be read, None when the page
        has no such path."""
        if path in PAGE_FILES:
            return self._file(self.root / PAGE_FILES[path])
        folder, _, name = path.rpartition("/")
        if folder == "/ort" and name in ORT_FILES:
            return self._file(self.root / ORT_DIST / name)
        return None

    def _file(self, path: Path):
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Response(404, "application/json",
                            (json.dumps({"error": f"cannot read {path.name}: {exc.strerror}"})
                             + "\n").encode())
        return Response(200, TYPES.get(path.suffix, "application/octet-stream"), data)
