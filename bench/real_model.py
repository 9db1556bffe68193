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
almost but not exactly black, as GANs leave it; JPEG leaves it too); and two learned from real
images, distances whose cut is on the upper side only: `co_occurrence`, the Mahalanobis distance
of an image's pairs of neighbouring pixel steps (SPAM's co-occurrences, Pevny et al. 2010) from
those of real images, and `classifier_knn`, the distance to the 5th nearest real image in the
features of the project's FashionMNIST classifier (UnivFD's nearest neighbour, without CLIP).
The row `shipped_generator` is the --focus run's final generators alone. With --json and --doc the
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
from train.metrics.classifier import classifier_features, DEFAULT_CLASSIFIER, load_classifier  # noqa: E402

CANDIDATES = ("npr_residual", "faint_pixels", "co_occurrence", "classifier_knn")
LEARNED = ("co_occurrence", "classifier_knn")  # distances from real images: no lower tail
STEP_LEVELS = 3  # co_occurrence: a step in units of 4 grey levels, clipped to -3..3
NEIGHBOURS = 5


def co_occurrences(images: np.ndarray) -> np.ndarray:
    """[N, 2 * 7 * 7]: how often each pair of successive steps (each clipped to -3..3 units of 4
    grey levels) occurs along rows and along columns of uint8 images [N, H, W]."""
    x = images.astype(np.int64)
    bins = 2 * STEP_LEVELS + 1
    counts = []
    for along_rows in (True, False):
        steps = np.diff(x, axis=2 if along_rows else 1)
        q = np.clip(np.round(steps / 4), -STEP_LEVELS, STEP_LEVELS).astype(np.int64) + STEP_LEVELS
        pairs = q[:, :, :-1] * bins + q[:, :, 1:] if along_rows else q[:, :-1, :] * bins + q[:, 1:, :]
        flat = pairs.reshape(len(x), -1) + bins * bins * np.arange(len(x))[:, None]
        counts.append(np.bincount(flat.ravel(), minlength=len(x) * bins * bins).reshape(len(x), -1))
    counts = np.concatenate(counts, 1).astype(np.float64)
    return counts / counts.sum(1, keepdims=True)


class LearnedCandidates:
    """The two candidates fitted on real images: a Gaussian of co-occurrences and a nearest-
    neighbour index of classifier features (`real` uint8 images, none of them used for the cuts)."""

    def __init__(self, real: np.ndarray):
        features = co_occurrences(real)
        covariance = np.cov(features, rowvar=False)
        covariance += 1e-4 * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
        self.mean, self.precision = features.mean(0), np.linalg.inv(covariance)
        self.classifier = load_classifier(DEFAULT_CLASSIFIER)[0]
        self.reference = torch.from_numpy(classifier_features(self.classifier, real)).float()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """[N, 2]: log Mahalanobis distance of the co-occurrences, log distance to the 5th neighbour."""
        d = co_occurrences(images) - self.mean
        mahalanobis = np.einsum("ij,jk,ik->i", d, self.precision, d)
        queries = torch.from_numpy(classifier_features(self.classifier, images)).float()
        knn = torch.cat([torch.cdist(q, self.reference).topk(NEIGHBOURS, largest=False).values[:, -1]
                         for q in queries.split(1000)])
        return np.log(np.stack([mahalanobis, knn.double().numpy()], 1) + 1e-6)


def candidates(images: torch.Tensor) -> torch.Tensor:
    """[N, 2]: the two hand-made candidates (npr_residual, faint_pixels)."""
    x = grey_levels(images) / 255
    npr = x - F.interpolate(x[..., ::2, ::2], scale_factor=2, mode="nearest")
    levels = torch.round(x * 255)
    faint = ((levels >= 1) & (levels <= 4)).float().mean((1, 2, 3))
    return torch.stack([torch.log(npr.abs().mean((1, 2, 3)) + 1e-4), faint], 1)


def all_statistics(model: RealStatistics, learned: LearnedCandidates, images: np.ndarray) -> np.ndarray:
    """[N, STATISTICS + CANDIDATES + 1]: each statistic, each candidate, the shipped rule's score."""
    x = to_model_range(torch.from_numpy(images))
    with torch.inference_mode():
        made = torch.cat([model.statistics(x), candidates(x)], 1).double().numpy()
        shipped = model.outlier_score(x)[:, None].double().numpy()
    return np.concatenate([made, learned(images), shipped], 1)


def tail_units(values: np.ndarray, real_fit: np.ndarray) -> np.ndarray:
    """Each statistic in tail units against `real_fit`, two-sided as RealStatistics measures
    them (LEARNED: upper side only); the last column, the shipped rule's score, is in tail units already."""
    lower_tail = np.array([name not in LEARNED for name in (*STATISTICS, *CANDIDATES)])
    units = in_tail_units(values[:, :-1], *tail_range(real_fit[:, :-1], lower_tail))
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
        focus = [g for g in generators if g.final and any(g.checkpoint.is_relative_to(p) for p in config.focus)]
        if focus:
            sets["shipped_generator"] = sample_zoo(focus, per_set, config.seed + 7919)[0]
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
    learned = LearnedCandidates(real_train[20_000:40_000])  # apart from the images that set the ranges
    names = [*STATISTICS, *CANDIDATES, "shipped_rule"]
    fit_values = all_statistics(model, learned, real_train[:20_000])
    cuts = np.quantile(tail_units(all_statistics(model, learned, real_calibration), fit_values), 1 - args.real_fpr,
                       axis=0)
    rows = {}
    for name, images in image_sets(config, [p for p in args.zoo if Path(p).exists()], args.per_set).items():
        units = tail_units(all_statistics(model, learned, images), fit_values)
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
