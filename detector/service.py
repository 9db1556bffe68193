"""What the HTTP server answers, apart from sockets: a request in, a Response out.

Routes: ``POST /detect`` (an image's bytes, or several as multipart/form-data), ``GET /health``,
``GET /model`` (the metadata as JSON), ``GET /model.onnx`` (the model file, for the page) and the
page itself (``GET /``, ``/app.js``, ``/ort/...``; see web.py). Image errors get the status
their kind calls for: 413 too large, 415 not an image, 400 anything else wrong with the input.
"""

import json
from urllib.parse import parse_qs

from .api import Detector
from .errors import (DetectorError, ImageSizeError, ImageTooLargeError, ModelError,
                     RequestError, UnsupportedImageError, one_line)
from .images import MAX_FILE_BYTES
from .multipart import is_form, parse_form
from .web import Response, WebFiles

JSON = "application/json"
# A whole request body (one image, or every file of a form) may be as large as one CLI file.
MAX_BODY_BYTES = MAX_FILE_BYTES


def json_response(value, status: int = 200, headers: tuple = ()) -> Response:
    return Response(status, JSON, (json.dumps(value) + "\n").encode(), headers)


def error_response(error: BaseException, status: int = None) -> Response:
    """{"error": message} with the status the error's kind calls for."""
    return json_response({"error": error_message(error)}, status or status_of(error))


def status_of(error: BaseException) -> int:
    if isinstance(error, RequestError):
        return error.status
    if isinstance(error, ImageTooLargeError):
        return 413
    if isinstance(error, UnsupportedImageError):
        return 415
    if isinstance(error, DetectorError) and not isinstance(error, ModelError):
        return 400
    return 500  # the model failed, or a bug


def error_message(error: BaseException) -> str:
    if isinstance(error, ImageSizeError):  # the CLI's "pass --resize" would not help here
        (w, h), (width, height) = error.size, error.expected
        return f"image is {w}x{h}, expected {width}x{height}; add ?resize=1 to scale it"
    return one_line(error)


def check_length(length: int) -> None:
    """Refuse a body by its declared length, before reading it."""
    if length > MAX_BODY_BYTES:
        raise RequestError(f"request body is larger than {MAX_BODY_BYTES // 2**20} MiB", 413)


class Service:
    """Answers requests with one loaded Detector (thread-safe: onnxruntime sessions are)."""

    def __init__(self, detector: Detector, web: WebFiles):
        self.detector = detector
        self.web = web
        self.model_bytes = detector.model.path.read_bytes()  # the page runs this very file
        self.routes = {"/detect": ("POST", self.detect), "/health": ("GET", self.health),
                       "/model": ("GET", self.model_info), "/model.onnx": ("GET", self.model_file)}

    def handle(self, method: str, target: str, content_type: str, body: bytes) -> Response:
        path, _, query = target.partition("?")
        route = self.routes.get(path) or self.web.route(path)
        if route is None:
            return json_response({"error": f"no such path: {path}"}, 404)
        allowed, answer = route
        # HEAD is GET without the body (the server leaves it out)
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            return json_response({"error": f"{path} answers {allowed}, not {method}"}, 405,
                                 (("Allow", allowed + (", HEAD" if allowed == "GET" else "")),))
        try:
            return answer(query=parse_qs(query), content_type=content_type, body=body)
        except DetectorError as exc:
            return error_response(exc)

    def detect(self, query: dict, content_type: str, body: bytes, **_) -> Response:
        resize = query.get("resize", ["0"])[-1].lower() in ("1", "true", "yes")
        if is_form(content_type):
            files = parse_form(content_type, body)
            if not files:
                raise RequestError("multipart/form-data body has no files")
            results = self.detector.detect_many((data for _name, data in files), resize=resize)
            return json_response([_row(name, result) for (name, _), result in zip(files, results)])
        # Any other Content-Type is ignored: the bytes say what they are (curl --data-binary
        # sends application/x-www-form-urlencoded), and load_pixels refuses non-images (415).
        return json_response(self.detector.detect(body, resize=resize).as_dict())

    def health(self, **_) -> Response:
        return json_response({"status": "ok", "model": self.detector.model.path.name})

    def model_info(self, **_) -> Response:
        return json_response(describe(self.detector))

    def model_file(self, **_) -> Response:
        return Response(200, "application/octet-stream", self.model_bytes)


def describe(detector: Detector) -> dict:
    """The model's metadata as the /model endpoint shows it."""
    info = detector.info
    return {"file": detector.model.path.name, "kind": info.kind,
            "image_size": list(info.image_size),
            "normalization": {"scale": info.scale, "offset": info.offset},
            "output": info.output, "positive_label": info.positive_label,
            "labels": list(info.labels), "class_names": list(info.class_names),
            "extra": info.extra}


def _row(name: str, result) -> dict:
    if isinstance(result, DetectorError):
        return {"name": name, "error": error_message(result)}
    return {"name": name, **result.as_dict()}
