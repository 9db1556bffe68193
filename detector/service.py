"""What the HTTP service answers, apart from HTTP: bodies and form parts in, JSON values out.

server.py (Starlette on uvicorn) reads requests and calls these off the event loop; errors are
the project's exceptions, and ``status_of`` says which HTTP status each kind calls for: 413 too
large, 415 not an image, 400 anything else wrong with the input, 500 the model or a bug.
"""

from .api import Detector
from .errors import (DetectorError, ImageSizeError, ImageTooLargeError, ModelError,
                     RequestError, UnsupportedImageError, one_line)
from .images import MAX_FILE_BYTES

# A whole request body (one image, or every file of a form) may be as large as one CLI file.
MAX_BODY_BYTES = MAX_FILE_BYTES


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
    """Refuse a body by its size (declared, or read so far) before reading more of it."""
    if length > MAX_BODY_BYTES:
        raise RequestError(f"request body is larger than {MAX_BODY_BYTES // 2**20} MiB", 413)


class Service:
    """Answers with one loaded Detector (thread-safe: onnxruntime sessions are)."""

    def __init__(self, detector: Detector):
        self.detector = detector
        self.model_bytes = detector.model.path.read_bytes()  # the page runs this very file

    def detect(self, body: bytes, resize: bool) -> dict:
        """One image's bytes -> the CLI's JSON. The bytes say what they are (415 for non-images)."""
        return self.detector.detect(body, resize=resize).as_dict()

    def detect_form(self, files: list, resize: bool) -> list:
        """[(name, bytes)] -> one row per file, scored in batches, "name" in place of "path"."""
        if not files:
            raise RequestError("multipart/form-data body has no files")
        results = self.detector.detect_many((data for _name, data in files), resize=resize)
        return [_row(name, result) for (name, _), result in zip(files, results)]

    def health(self) -> dict:
        return {"status": "ok", "model": self.detector.model.path.name}

    def model_info(self) -> dict:
        return describe(self.detector)


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
