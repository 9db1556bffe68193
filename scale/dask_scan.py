"""The detector over many files on Dask workers: one onnxruntime session per worker process.

The files are cut into chunks; ``client.map`` sends each chunk to a worker, which opens the
model once (``_detector``, cached for the process), reads and scores the chunk's files with
``Detector.detect_many`` and sends back one row per file, as ``python -m detector`` prints them
(``{"path", "label", "confidence"}`` or ``{"path", "error"}``). Rows come back in input order,
a chunk at a time. The workers read the files themselves: on a cluster of several machines the
paths must name the same files on each (a shared file system).
"""

import functools
from typing import Iterator

from detector import load_detector
from detector.errors import DetectorError, one_line
from detector.manifest import file_sha256
from detector.model import resolve_model_path, verify

DEFAULT_CHUNK = 2048  # files per task: big enough that scheduling costs little per image


@functools.lru_cache(maxsize=2)
def _detector(model: str, sha256: "str | None", threads: int):
    """The Detector of this worker process, opened at its first chunk."""
    return load_detector(model, sha256=sha256, threads=threads)


def score_chunk(paths: list, model: str, sha256: "str | None" = None, resize: bool = False,
                threads: int = 1) -> list:
    """Rows for ``paths`` (run on a worker); a bad file is its row's error, a bad model raises."""
    detector = _detector(model, sha256, threads)
    rows = []
    for path, result in zip(paths, detector.detect_many(paths, resize=resize)):
        if isinstance(result, DetectorError):
            rows.append({"path": path, "error": one_line(result)})
        else:
            rows.append({"path": path, **result.as_dict()})
    return rows


def chunks(items: list, size: int) -> list:
    return [items[start:start + size] for start in range(0, len(items), size)]


def scan(client, paths: list, *, model=None, sha256: "str | None" = None, resize: bool = False,
         chunk: int = DEFAULT_CHUNK, threads: int = 1) -> Iterator[dict]:
    """Rows for ``paths`` scored on ``client``'s workers, in order (``threads``: onnxruntime's
    per worker; the workers are the parallelism).

    The model is resolved and verified here (a shipped one against models/manifest.json, any
    other against ``sha256`` if given), so a bad or damaged model is a ModelError before any
    task is sent; the workers then open it by absolute path and check its sha256 against the
    one verified here (on several machines, each worker's copy must be those bytes). A
    ModelError on a worker is raised from ``result``.
    """
    model_path = resolve_model_path(model).resolve()
    verify(model_path, sha256)
    digest = sha256 or file_sha256(model_path)
    futures = client.map(score_chunk, chunks(list(paths), chunk), model=str(model_path),
                         sha256=digest, resize=resize, threads=threads, pure=False)
    for future in futures:
        yield from future.result()
        future.release()
