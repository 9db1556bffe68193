"""Whole-or-nothing text files: a reader sees the old content or the new, never half of it.

Used for config.json, metrics.jsonl rewrites, eval.json and reports; checkpoints have their
own binary writer with fsync (checkpoint.save_checkpoint).
"""
import os
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
