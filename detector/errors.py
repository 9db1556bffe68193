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
