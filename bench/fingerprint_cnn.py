"""What the fingerprint CNN's dark channel buys: the CNN alone, with and without it, on a generator it never saw.

    python bench/fingerprint_cnn.py [--zoo runs/zoo] [--target runs/fmnist-cgan]
                                    [--json docs/fingerprint_channels.json]

Trains the fingerprint CNN twice as `python -m train.detector` does (same data, seed and epochs:
DetectorConfig's defaults) on the families of --zoo, once with the channel that magnifies the
darkest grey levels (`FingerprintCNN`, train/detection/model.py) and once without, and measures
each CNN alone at the threshold that calls 2 % of the held-out real images generated: the
fraction of the images of --target's final generators it catches (--target must not be in
--zoo: an unseen generator), the same for the real test images, and AP.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train.data import load_fashion_mnist  # noqa: E402
from train.detection.calibration import average_precision, fpr_threshold, GOAL_REAL_FPR  # noqa: E402
from train.detection.config import DetectorConfig  # noqa: E402
from train.detection.fit import fit_data, logits_of, train_fingerprint  # noqa: E402
from train.detection.zoo import run_generators, sample_zoo, zoo_generators  # noqa: E402
from train.gan.runtime import usable_cpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", nargs="+", default=["runs/zoo"])
    parser.add_argument("--target", type=Path, default=Path("runs/fmnist-cgan"))
    parser.add_argument("--images", type=int, default=2000, help="images of --target, and as many real test images")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(usable_cpus())
    config = DetectorConfig(progress=False)
    data = fit_data(config, zoo_generators(args.zoo))
    target = sample_zoo([g for g in run_generators(args.target) if g.final], args.images, config.seed + 7919)[0]
    real = load_fashion_mnist("test").images.numpy()[: args.images]
    rows = {}
    for name, dark in (("with_dark_channel", True), ("without_dark_channel", False)):
        cnn = train_fingerprint(data.real_train, data.generated_train, config, dark_channel=dark)
        threshold = fpr_threshold(logits_of(cnn, data.real_calibration), GOAL_REAL_FPR)
        real_logits, target_logits = logits_of(cnn, real), logits_of(cnn, target)
        rows[name] = {"caught": float(np.mean(target_logits < threshold)),
                      "real_test_fpr": float(np.mean(real_logits < threshold)),
                      "average_precision": average_precision(real_logits, target_logits)}
        print(f"{name:<22} caught {rows[name]['caught']:.3f}  real test FPR {rows[name]['real_test_fpr']:.3f}"
              f"  AP {rows[name]['average_precision']:.3f}")
    if args.json:
        summary = {"zoo": args.zoo, "target": str(args.target), "images": args.images,
                   "target_fpr": GOAL_REAL_FPR, "epochs": config.epochs, "rows": rows}
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
