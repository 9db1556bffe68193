"""The Detector: a model plus batching of decoded images through it."""

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

import numpy as np

from .errors import DetectorError, ImageError
from .images import load_pixels
from .metadata import ModelInfo
from .model import Model, open_model
from .scoring import Prediction, predictions

DEFAULT_BATCH_SIZE = 512


class Detector:
    """Tells real FashionMNIST-style images from generated ones with one ONNX model."""

    def __init__(self, model: Model, *, batch_size: int = DEFAULT_BATCH_SIZE):
        if batch_size < 1:
            raise DetectorError(f"batch_size must be at least 1, not {batch_size}")
        self.model = model
        self.batch_size = batch_size

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    def detect(self, image, *, resize: bool = False) -> Prediction:
        """Score one image (path, encoded bytes, PIL image or uint8 [H, W] array).

        Raises ImageError when the image cannot be used, ModelError when the model fails.
        """
        (result,) = self._score([load_pixels(image, self.info.image_size, resize=resize, channels=self.info.channels)])
        if isinstance(result, DetectorError):
            raise result
        return result

    def detect_arrays(self, pixels: np.ndarray) -> list:
        """Score a uint8 [N, H, W] array of already decoded images, in batches.

        Returns one Prediction (or ModelError for a NaN output) per image; raises ImageError
        for an array of another type or shape.
        """
        pixels = np.asarray(pixels)
        if pixels.dtype != np.uint8 or pixels.shape[1:] != self.info.pixel_shape:
            raise ImageError(f"expected uint8 [N, {', '.join(map(str, self.info.pixel_shape))}], "
                             f"got {pixels.dtype} {list(pixels.shape)}")
        out = []
        for start in range(0, len(pixels), self.batch_size):
            out.extend(self._score(list(pixels[start:start + self.batch_size])))
        return out

    def detect_many(self, images: Iterable, *, resize: bool = False) -> Iterator:
        """Score many images lazily, in input order, ``batch_size`` per model run.

        Yields a Prediction, or the DetectorError that image raised, for each input, so one bad
        file does not stop the others. A failing model still raises ModelError. The next batch
        is decoded while the model scores this one (onnxruntime releases the GIL).
        """
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = None
            for batch in self._decoded_batches(images, resize):
                if running is not None:
                    yield from running.result()
                running = pool.submit(self._score, batch)
            if running is not None:
                yield from running.result()

    def _decoded_batches(self, images: Iterable, resize: bool) -> Iterator[list]:
        """Lists of ``batch_size`` decoded arrays, or the DetectorError each image raised."""
        pending = []
        for image in images:
            try:
                pending.append(load_pixels(image, self.info.image_size, resize=resize, channels=self.info.channels))
            except DetectorError as exc:
                pending.append(exc)
            if len(pending) >= self.batch_size:
                yield pending
                pending = []
        if pending:
            yield pending

    def _score(self, pending: list) -> list:
        """Run the decoded arrays among ``pending`` through the model; keep errors in place."""
        decoded = [p for p in pending if isinstance(p, np.ndarray)]
        if not decoded:
            return pending
        info = self.info
        logits = self.model.logits(self.model.to_batch(decoded))
        scored = iter(predictions(logits, info.positive_label, info.negative_label))
        return [next(scored) if isinstance(p, np.ndarray) else p for p in pending]


def load_detector(model: "str | os.PathLike | None" = None, *,
                  batch_size: int = DEFAULT_BATCH_SIZE, threads: int = 0,
                  sha256: "str | None" = None) -> Detector:
    """Open ``model`` (None: models/detector.onnx; a name in models/; or a path).

    ``threads`` is onnxruntime's intra-op thread count (0: its default, one per core).
    ``sha256``: refuse the file unless it has this hash (without it, only the shipped models in
    models/ are checked, against models/manifest.json).
    Raises ModelError when it is missing, unreadable or breaks the model contract.
    """
    return Detector(open_model(model, threads=threads, sha256=sha256), batch_size=batch_size)


def detect(image, model: "str | os.PathLike | None" = None, *,
           resize: bool = False) -> Prediction:
    """Score one image with a freshly loaded model (use load_detector for many calls)."""
    return load_detector(model).detect(image, resize=resize)
