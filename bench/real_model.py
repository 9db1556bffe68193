"""What each statistic of the real-image model catches alone, and the candidates left out.

    python bench/real_model.py [--zoo runs/zoo runs/fmnist-cgan] [--json docs/real_model.json]
                               [--doc docs/detector.md]

Fits `RealStatistics` (train/detection/real_model.py) on the real training images exactly as
`python -m train.detector` does (same split, same seed), then, for each statistic alone, puts
its own two-sided cut where it calls 1 % of the held-out real images generated, and prints the
fraction of each image set it calls generated: the sanity battery's sets (train/detection/sanity.py)
and the final generators of every zoo family. The last column, shipped_rule, is the model as shipped (the largest
tail unit of all six, cut at `--real-fpr`). Candidates measured and left out of the model:
`npr_residual`, the mean |image - nearest-neighbour upsampling of its 2x-subsampled self| (NPR,
CVPR 2024), and `faint_pixels`, the fraction of pixels at grey levels 1-4 (a background that is
almost but not exactly black, as GANs leave it; JPEG leaves it too). With --json and --doc the
table goes into that Markdown file between `<!-- real_model -->` and `<!-- /real_model -->`, each
figure a span citing the JSON (`python -m train.doc_numbers` checks them).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train.data import grey_levels, load_fashion_mnist, to_model_range  # noqa: E402
from train.detection.config import DetectorConfig  # noqa: E402
from train.detection.fit import real_split  # noqa: E402
from train.detection.real_model import (fit_real_statistics, in_tail_units, RealStatistics, STATISTICS,  # noqa: E402
                                        tail_range)
from train.detection.sanity import make_battery  # noqa: E402
from train.detection.zoo import families, sample_zoo, zoo_generators  # noqa: E402
from train.doc_numbers import replace_block, span  # noqa: E402

CANDIDATES = ("npr_residual", "faint_pixels")


def candidates(images: torch.Tensor) -> torch.Tensor:
    """[N, len(CANDIDATES)]: the statistics tried and left out, in CANDIDATES' order."""
    x = grey_levels(images) / 255
    npr = x - F.interpolate(x[..., ::2, ::2], scale_factor=2, mode="nearest")
    levels = torch.round(x * 255)
    faint = ((levels >= 1) & (levels <= 4)).float().mean((1, 2, 3))
    return torch.stack([torch.log(npr.abs().mean((1, 2, 3)) + 1e-4), faint], 1)


def all_statistics(model: RealStatistics, images: np.ndarray) -> np.ndarray:
    x = to_model_range(torch.from_numpy(images))
    with torch.inference_mode():
        return torch.cat([model.statistics(x), candidates(x), model.outlier_score(x)[:, None]], 1).double().numpy()


def tail_units(values: np.ndarray, real_fit: np.ndarray) -> np.ndarray:
    """Each statistic in tail units against `real_fit`, two-sided, as RealStatistics measures
    them; the last column, the shipped rule's score, is in tail units already."""
    statistics = values.shape[1] - 1
    units = in_tail_units(values[:, :-1], *tail_range(real_fit[:, :-1], np.ones(statistics, dtype=bool)))
    return np.concatenate([units, values[:, -1:]], 1)


def image_sets(config: DetectorConfig, zoo: list, per_set: int) -> dict:
    test = load_fashion_mnist("test").images.numpy()
    test = test[np.random.default_rng(config.seed).permutation(len(test))]
    sets = {"real_test": test, **make_battery(test[:per_set], config.seed)}
    sets.pop("real")
    if zoo:
        generators = zoo_generators(zoo)
        for family in families(generators):
            finals = [g for g in generators if g.family == family and g.final]
            sets[family] = sample_zoo(finals, per_set, config.seed + 7919)[0]
    return sets


def markdown_table(names: list, rows: dict, json_path: str = "") -> list[str]:
    """The rows as a Markdown table; with `json_path`, every figure a span citing it."""
    cell = (lambda key, value: span(json_path, key, value, ".3f")) if json_path else (lambda key, value: f"{value:.3f}")
    lines = ["| set | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---:|" * len(names)]
    return lines + [f"| {name} | " + " | ".join(cell(f"rows.{name}.{n}", row[n]) for n in names) + " |"
                     for name, row in rows.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", nargs="*", default=["runs/zoo", "runs/fmnist-cgan"])
    parser.add_argument("--per-set", type=int, default=1000)
    parser.add_argument("--real-fpr", type=float, default=DetectorConfig.real_fpr)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--doc", type=Path, help="with --json: put the table into this Markdown file")
    args = parser.parse_args()
    config = DetectorConfig()
    real_train, real_calibration = real_split(config)
    model = fit_real_statistics(RealStatistics(config.components), to_model_range(torch.from_numpy(real_train)))
    names = [*STATISTICS, *CANDIDATES, "shipped_rule"]
    fit_values = all_statistics(model, real_train[:20_000])
    cuts = np.quantile(tail_units(all_statistics(model, real_calibration), fit_values), 1 - args.real_fpr, axis=0)
    rows = {}
    for name, images in image_sets(config, [p for p in args.zoo if Path(p).exists()], args.per_set).items():
        units = tail_units(all_statistics(model, images), fit_values)
        rows[name] = dict(zip(names, (units > cuts).mean(0).round(4).tolist()))
    print(f"fraction called generated, each statistic alone at {args.real_fpr:.0%} of held-out real images")
    print("\n".join(markdown_table(names, rows)))
    if args.json:
        args.json.write_text(json.dumps({"real_fpr": args.real_fpr, "per_set": args.per_set, "zoo": args.zoo,
                                         "statistics": names, "rows": rows}, indent=2) + "\n")
        if args.doc:
            source = args.json.resolve().relative_to(REPO).as_posix()
            replace_block(args.doc, "<!-- real_model -->", "<!-- /real_model -->", markdown_table(names, rows, source))


if __name__ == "__main__":
    main()
