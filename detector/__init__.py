"""Tell real FashionMNIST-format images from GAN-generated ones with an ONNX model.

Runs on onnxruntime's CPU provider and needs only onnxruntime, numpy and Pillow (no PyTorch)::

    from detector import load_detector
    det = load_detector()                    # models/detector.onnx ("discriminator": the GAN's D)
    det.detect("img.png")                    # Prediction(label='real', confidence=0.93, ...)
    for p in det.detect_many(paths): ...     # batched; a bad image comes back as its DetectorError

Command line: ``python -m detector --help``.
"""

from .api import Detector, detect, load_detector
from .errors import (DetectorError, ImageError, ImageSizeError, ImageTooLargeError, ModelError,
                     UnsupportedImageError)
from .metadata import ModelInfo
from .model import resolve_model_path
from .scoring import Prediction

__all__ = ["Detector", "DetectorError", "ImageError", "ImageSizeError", "ImageTooLargeError",
           "ModelError", "ModelInfo", "Prediction", "UnsupportedImageError", "detect",
           "load_detector", "resolve_model_path"]
