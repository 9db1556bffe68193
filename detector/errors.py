"""The exceptions the detector raises.

Library code raises only these, so a caller (and ``python -m detector``) can tell a problem with
the model (fatal: nothing can be scored) from a problem with one image (that image fails, the
others still get answers) without matching on third-party exception types.
"""


class DetectorError(Exception):
    """Base class of every error the detector reports on purpose."""


class ModelError(DetectorError):
    """The ONNX model is missing, unreadable, or does not follow the model contract."""


class ImageError(DetectorError):
    """One input image cannot be read, decoded, or does not fit the input contract."""


class UnsupportedImageError(ImageError):
    """The input is not an image in a format, or pixel mode, that the detector reads."""


class ImageTooLargeError(ImageError):
    """The file, or the image its header declares, is over the detector's limits.

    Refused before decoding: a small file can declare gigapixels (a decompression bomb).
    """


class ImageSizeError(ImageError):
    """A readable image of another size than the model's, and no resizing was asked for."""

    def __init__(self, message: str, size: tuple, expected: tuple):
        super().__init__(message)
        self.size = size  # (width, height) as displayed
        self.expected = expected  # (width, height) the model takes


class RequestError(DetectorError):
    """An HTTP request the server cannot answer as asked; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def one_line(error: BaseException) -> str:
    """The error's message on one line: for stderr, JSON rows and HTTP answers alike."""
    return " ".join(str(error).split()) or type(error).__name__
