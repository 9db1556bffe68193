"""Cache of the real images' feature statistics (mu, sigma), which never change between runs.

The file name holds the feature kind and the number of images; inside, a key made of the
source files' names, sizes and mtimes must match, so a changed dataset is recomputed rather
than silently reused.
"""
import json
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from train.metrics.fid import statistics
from train.run.atomic import write_atomic

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "fmnist-gan"


def source_key(files: Sequence[Path]) -> str:
    """JSON of (name, size, mtime_ns) of each source file: changes whenever the data does."""
    stats = [(Path(f).name, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    return json.dumps(stats)


def cache_path(cache_dir: Path, kind: str, n: int) -> Path:
    return Path(cache_dir) / f"fid_stats_{kind}_{n}.npz"


def _read(path: Path, key: str):
    try:
        with np.load(path) as saved:
            if str(saved["key"]) == key:
                return saved["mu"], saved["sigma"]
    except (OSError, KeyError, ValueError):
        pass  # unreadable or from an older layout: recompute
    return None


def _write(path: Path, key: str, mu: np.ndarray, sigma: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda f: np.savez(f, key=np.array(key), mu=mu, sigma=sigma))


def cached_statistics(path: Path, sources: Sequence[Path],
                      features: Callable[[], np.ndarray]) -> tuple[np.ndarray, np.ndarray, bool]:
    """(mu, sigma, from_cache): read `path` when its key matches `sources`, else call
    `features()` (the expensive part), store its statistics and return them."""
    key = source_key(sources)
    found = _read(path, key) if path.is_file() else None
    if found is not None:
        return found[0], found[1], True
    mu, sigma = statistics(features())
    _write(path, key, mu, sigma)
    return mu, sigma, False
