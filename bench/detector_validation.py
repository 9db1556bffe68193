"""Score a candidate detector on a validation set kept apart from the seed's test, to choose
`python -m train.detector`'s settings without tuning on the figures the docs report.

    python bench/detector_validation.py runs/det-X/detector.onnx --label "width 32" \
        [--models models] [--json docs/detector_validation.json]

Validation: the 9,000 real test images outside the seed's test (its 1,000 are drawn by
train.data.real_sample: real_sample_indices) and 2,000 images of MODELS/generator.onnx (200 a class) from
noise seed 777 (the seed's test uses seed 0). Prints one JSON row: the real FPR, the fraction
of generated images caught and their mean (balanced accuracy), and the sanity battery
(train/detection/sanity.py, on 1,000 of those real images): checks passed and what each checked
set called real; with --json, the row replaces the one of the same label in that file's "rows".
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train.data import load_fashion_mnist, real_sample_indices  # noqa: E402
from train.detection.evaluate import onnx_logits, onnx_scorer, SEED_TEST_REAL, SEED_TEST_SEED  # noqa: E402
from train.detection.sanity import passed, run_battery  # noqa: E402
from train.gan.sampling import generated_images  # noqa: E402

GENERATED_PER_CLASS, NOISE_SEED = 200, 777


def validation_images(models: Path) -> tuple[np.ndarray, np.ndarray]:
    """(real test images outside the seed's test, generated images from another noise seed)."""
    test = load_fashion_mnist("test")
    seed_test = real_sample_indices(len(test.labels), SEED_TEST_REAL, SEED_TEST_SEED)
    outside = np.ones(len(test.labels), bool)
    outside[seed_test] = False
    classes = np.repeat(np.arange(10), GENERATED_PER_CLASS)
    return test.images.numpy()[outside], generated_images(models, classes, np.random.default_rng(NOISE_SEED))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detector", type=Path)
    parser.add_argument("--label", default=None, help="the row's name (default: the detector's path)")
    parser.add_argument("--models", type=Path, default=Path("models"), help="folder with generator.onnx")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    real, generated = validation_images(args.models)
    fpr = float(np.mean(onnx_logits(args.detector, real) < 0))
    caught = float(np.mean(onnx_logits(args.detector, generated) < 0))
    row = {"label": args.label or str(args.detector), "real_fpr": fpr, "generated_caught": caught,
           "balanced_accuracy": (1 - fpr + caught) / 2, "n_real": len(real), "n_generated": len(generated)}
    battery = run_battery(onnx_scorer(args.detector), real[:1000])
    row["sanity_passed"], row["sanity_checked"] = passed(battery)
    row["sanity_called_real"] = {name: r["called_real"] for name, r in battery.items() if r["expected"]}
    print(json.dumps(row))
    if args.json:
        table = json.loads(args.json.read_text()) if args.json.is_file() else {"rows": []}
        table["rows"] = [r for r in table["rows"] if r["label"] != row["label"]] + [row]
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
