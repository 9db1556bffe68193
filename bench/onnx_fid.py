"""Inception FID of an exported generator on the standard protocol (Lucic et al. 2018): 10,000
generated images, 1,000 per class, against the 10,000 test images, whose statistics are cached.

    python bench/onnx_fid.py [--models models] [--n 10000] [--seed 0] [--json out.json]

For generators whose checkpoint is gone (the shipped models/generator.onnx of an older recipe);
a run directory is measured the same way by `python -m train.evaluate`. Writes a JSON with the
FID, the sample sizes and the seconds it took.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from train.data import load_fashion_mnist  # noqa: E402
from train.evaluate import EvaluateConfig, inception_fid  # noqa: E402
from train.gan.runtime import usable_cpus  # noqa: E402
from train.gan.sampling import balanced_labels, generated_images  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=REPO / "models", help="folder with generator.onnx")
    parser.add_argument("--n", type=int, default=10000, help="generated images (balanced classes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    torch.set_num_threads(usable_cpus())
    started = time.perf_counter()
    test = load_fashion_mnist("test", None)
    fake = generated_images(args.models, balanced_labels(args.n, 10), np.random.default_rng(args.seed))
    result = {"generator": str(args.models / "generator.onnx"),
              **inception_fid(EvaluateConfig(progress=False), test, fake, "cpu"),
              "seed": args.seed, "seconds": time.perf_counter() - started}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
