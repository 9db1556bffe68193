"""Whole-or-nothing files: a reader sees the old content or the new, never half of it.

Every file a run or a command writes in one go goes through `write_atomic`: config.json,
metrics.jsonl rewrites, checkpoints, eval.json, reports, the classifier, cached FID statistics,
export.json and the detector's fit. The temporary file is `.NAME.XXXX.tmp` beside the target,
so a process killed mid-write leaves at most such a file (RunDir.prepare removes those of
checkpoints/, where they are large).
"""
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import torch


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(f)` on a binary temporary file beside `path`, fsync it, rename it over `path`
    and fsync the folder, so that after a crash `path` is the old file or the new one.

    Any exception (OSError for a full disk, RuntimeError from torch's zip writer,
    KeyboardInterrupt) removes the temporary file and propagates unchanged; callers turn it
    into their own error type.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)  # make the rename itself durable
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text_atomic(path: Path, text: str) -> None:
    """`text` (UTF-8) as the whole content of `path`."""
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def save_torch_atomic(obj, path: Path) -> None:
    """`torch.save(obj)` as the whole content of `path`."""
    write_atomic(path, lambda f: torch.save(obj, f))
