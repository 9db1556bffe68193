"""The held-out rows of `--evaluate`, kept as each fit ends, so a stopped run resumes.

One fit of the detector takes half an hour of a CPU core; `--evaluate` makes one per held-out
family or run. Each row is written to OUT/held_out/NAME.json the moment its fit ends, beside the
key it was made under; a later `--evaluate` reuses a row whose key matches and fits the rest.
The key covers everything a row depends on: the fit's settings (not which rows are asked for,
nor where the report goes), the zoo's generator files (path, size, modification time), the real
test images, and the source of every `train` and `detector` module loaded (but those that only
parse the command or present the rows). Remove OUT/held_out to fit everything again.
"""
import hashlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import numpy as np

from detector.atomic import write_text_atomic

# what says which rows to make or where to put them, never how one is made
NOT_IN_KEY = {"out", "export", "evaluate", "jobs", "held_out_runs", "held_out_families", "report", "progress",
              "sanity", "sanity_models", "shipped", "shipped_json", "strangers", "stranger_dirs",
              "strangers_json", "strangers_doc", "strangers_per_set", "sanity_per_set",
              "add_top_levels", "add_zero_shot"}
CODE_PACKAGES = ("train", "detector")
# loaded by `python -m train.detector --evaluate` but only parse the command or present the rows
PRESENTATION = {"train.detector", "train.command", "train.doc_numbers", "train.detection.report",
                "train.detection.row_cache"}


def loaded_code() -> dict:
    """sha256 of each loaded module of CODE_PACKAGES but PRESENTATION, by module name."""
    code = {}
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.split(".")[0] in CODE_PACKAGES and name not in PRESENTATION and path and path.endswith(".py"):
            code[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return code


def row_key(config, generators, held: str, *arrays: np.ndarray) -> str:
    """sha256 of what the row for `held` depends on (see the module's docstring), `arrays` (the
    real test images and the discriminator's logits on them) included."""
    settings = {k: str(v) for k, v in asdict(config).items() if k not in NOT_IN_KEY}
    files = [(str(g.checkpoint.resolve()), g.checkpoint.stat().st_size, g.checkpoint.stat().st_mtime_ns,
              g.family, g.ema, g.final, g.progress) for g in generators]
    what = {"held": str(held), "settings": settings, "generators": files, "code": loaded_code(),
            "arrays": [hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() for a in arrays]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def row_path(out: Path, held: str) -> Path:
    """OUT/held_out/NAME.json; a run's path (strong_zoo/recipe-seed1) becomes one file name."""
    return Path(out) / "held_out" / (str(held).strip("/").replace("/", "__") + ".json")


def load_row(path: Path, key: str) -> Optional[dict]:
    """The row kept at `path` if it was made under `key`, else None (absent, stale or unreadable)."""
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return kept.get("row") if isinstance(kept, dict) and kept.get("key") == key else None


def store_row(path: Path, key: str, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({"key": key, "row": row}, indent=1) + "\n")
