"""Whole-or-nothing files: a reader sees the old content or the new, never half of it.

`write_atomic` (and `write_text_atomic` on top of it) is the one writer of such files: the runtime's manifest here, and everything
train/run/atomic.py writes for a run or a command (config.json, checkpoints, eval.json, the
detector's fit, installed models). The temporary file is `.NAME.XXXX.tmp` beside the target, so a
process killed mid-write leaves at most such a file.
"""
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def plain_file_mode() -> int:
    """The permissions `open(path, "w")` would give a new file: 0o666 less the umask (mkstemp's
    0o600 would hide a model or a manifest from every other user)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: "str | os.PathLike", write: Callable[[BinaryIO], None]) -> None:
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
            os.fchmod(f.fileno(), plain_file_mode())
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


def write_text_atomic(path: "str | os.PathLike", text: str) -> None:
    """`text` (UTF-8) as the whole content of `path`."""
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))
