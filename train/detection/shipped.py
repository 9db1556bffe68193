"""`python -m train.detector --shipped`: the shipped models as they are now in models/, measured
with inference only (no zoo, no training: seconds on a CPU).

Which files were measured (the first 16 hex digits of each one's sha256), the seed's test of the
detector and the discriminator (1k real test images + 1k from models/generator.onnx), the
detector's real FPR over the whole test split, and the sanity battery on both: evaluate.py's
functions, written to --shipped-json (docs/detector_shipped.json), which the docs cite. Rerun it
whenever a model in models/ is replaced; `--evaluate` (the zoo) is needed only for the held-out
families and the calibration.
"""
import datetime
import json
from pathlib import Path

from detector.manifest import file_sha256
from train.detection.config import DetectorConfig
from train.detection.evaluate import sanity, shipped_files, shipped_models, shipped_scores, shuffled_test
from train.errors import EvaluationError
from train.run.atomic import write_text_atomic

HASH_DIGITS = 16  # of the sha256's 64: enough to tell model files apart, short enough to read


def shown(path: Path) -> str:
    """The path relative to the working directory when it lies below it (the repository root,
    where the commands run), else as it is: no machine's path in the committed JSON."""
    path, here = Path(path).resolve(), Path.cwd().resolve()
    return path.relative_to(here).as_posix() if path.is_relative_to(here) else str(path)


def file_record(path: Path) -> dict:
    """A model file's path and the first HASH_DIGITS hex digits of its sha256."""
    if not path.is_file():
        raise EvaluationError(f"no model file {path}: --shipped measures the models in models/ "
                              "(and --export); python -m export and python -m train.detector write them")
    return {"path": shown(path), "sha256": file_sha256(path)[:HASH_DIGITS]}


def measure_shipped(config: DetectorConfig) -> dict:
    """Measure the shipped models and write config.shipped_json; returns what it wrote."""
    # hashed first: a missing file is refused before a minute of measuring
    files = {name: file_record(path) for name, path in shipped_files(config).items()}
    test, real = shuffled_test(config)
    results = {"date": datetime.date.today().isoformat(), "models": files,
               **shipped_scores(config, test, real), "sanity": sanity(config, shipped_models(config), real)}
    config.shipped_json.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(config.shipped_json, json.dumps(results, indent=2) + "\n")
    return results
