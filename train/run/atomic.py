"""Whole-or-nothing files: a reader sees the old content or the new, never half of it.

Every file a run or a command writes in one go goes through `write_atomic` (detector/atomic.py,
the runtime's layer, whose manifest uses it too): config.json, metrics.jsonl rewrites,
checkpoints, eval.json, reports, the classifier, cached FID statistics, export.json and the
detector's fit. The temporary file is `.NAME.XXXX.tmp` beside the target, so a process killed
mid-write leaves at most such a file (RunDir.prepare removes those of checkpoints/, where they
are large).
"""
from pathlib import Path

import torch

from detector.atomic import write_atomic, write_text_atomic

__all__ = ["write_atomic", "write_text_atomic", "save_torch_atomic"]


def save_torch_atomic(obj, path: Path) -> None:
    """`torch.save(obj)` as the whole content of `path`."""
    write_atomic(path, lambda f: torch.save(obj, f))
