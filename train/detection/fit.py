"""Fit a detector: the real-image model, the zero-shot part, the fingerprint CNN, the top-levels
part, then calibration and threshold.

Every step uses only what it may: real images from the training split (a held-out slice of
it for calibration), generated images from the families being trained on.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from train.data import batched_outputs, load_fashion_mnist, to_model_range
from train.detection.augment import augment
from train.detection.calibration import fit_platt, fpr_threshold
from train.detection.config import DetectorConfig
from train.detection.model import DetectorNet, FingerprintCNN
from train.detection.real_model import fit_real_statistics, RealStatistics
from train.detection.top_levels import fit_top_levels
from train.detection.zero_shot import BrightestLevel, fit_brightest_cut, fit_floor, fit_trace_cut, TRACE_QUALITIES
from train.detection.zoo import sample_zoo, shares, ZooGenerator
from train.gan.runtime import usable_cpus


@dataclass
class FitData:
    """uint8 images [N, 28, 28]: the training and calibration sets of one fit."""
    real_train: np.ndarray
    real_calibration: np.ndarray
    generated_train: np.ndarray
    generated_calibration: np.ndarray


def real_split(config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train images, calibration images): the FashionMNIST training split, shuffled by the
    seed, its last `real_calibration` images held out."""
    images = load_fashion_mnist("train", config.data_dir).images.numpy()
    images = images[np.random.default_rng(config.seed).permutation(len(images))]
    cut = len(images) - config.real_calibration
    return images[:cut], images[cut:]


def sample_family(generators: list[ZooGenerator], n: int, seed: int) -> np.ndarray:
    """Half of n from the family's final generators (the best, hardest to catch, and a small
    minority of its snapshots), half over all its snapshots weighted by how far into their run
    they are: the first blurry epochs are easy and need few examples."""
    finals = [g for g in generators if g.final]
    from_finals, from_all = shares(n, [1, 1])
    parts = [sample_zoo(finals, from_finals, seed)[0] if from_finals else None,
             sample_zoo(generators, from_all, seed + 500, [g.progress for g in generators])[0] if from_all else None]
    return np.concatenate([p for p in parts if p is not None])


def sample_families(generators: list[ZooGenerator], n: int, seed: int) -> np.ndarray:
    """n images, an equal share per family (sample_family)."""
    names = sorted({g.family for g in generators})
    return np.concatenate([sample_family([g for g in generators if g.family == name], share, seed + 1000 * i)
                           for i, (name, share) in enumerate(zip(names, shares(n, np.ones(len(names)))))])


def focus_generators(config: DetectorConfig, generators: list[ZooGenerator]) -> list[ZooGenerator]:
    """The final generators of the --focus runs (or exported generators' folders) among `generators`
    (none when their family is held out)."""
    runs = {Path(run).resolve() for run in config.focus}
    return [g for g in generators if g.final and g.run_dir.resolve() in runs]


def sample_generated(config: DetectorConfig, generators: list[ZooGenerator], n: int) -> np.ndarray:
    """n generated images: focus_share of them from the --focus runs' final generators, the rest
    an equal share per family (sample_families), shuffled."""
    focus = focus_generators(config, generators)
    from_focus = int(round(config.focus_share * n)) if focus else 0
    parts = [sample_families(generators, n - from_focus, config.seed)]
    if from_focus:
        parts.append(sample_zoo(focus, from_focus, config.seed + 31)[0])
    generated = np.concatenate(parts)
    return generated[np.random.default_rng(config.seed + 1).permutation(len(generated))]


def fit_data(config: DetectorConfig, generators: list[ZooGenerator]) -> FitData:
    real_train, real_calibration = real_split(config)
    generated = sample_generated(config, generators, config.generated_train + config.generated_calibration)
    cut = config.generated_train
    return FitData(real_train, real_calibration, generated[:cut], generated[cut:])


def logits_of(module, images: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """What `module` (an eval-mode network, or a method such as DetectorNet.parts) gives for
    uint8 images [N, 28, 28], in batches."""
    return batched_outputs(module, images, batch_size)


def train_fingerprint(real: np.ndarray, generated: np.ndarray, config: DetectorConfig,
                      dark_channel: bool = True) -> FingerprintCNN:
    """The CNN, trained to tell augmented real from augmented generated images (BCE, balanced
    batches: each step half real, half generated, both drawn with replacement per epoch)."""
    torch.manual_seed(config.seed)
    rng = torch.Generator().manual_seed(config.seed)
    model = FingerprintCNN(config.width, dark_channel)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    half = config.batch_size // 2
    steps = config.epochs * (len(real) // half)
    targets = torch.cat([torch.ones(half), torch.zeros(half)])  # maximise log D(real) + log(1 - D(gen))
    for _ in tqdm(range(steps), desc="fingerprint CNN", disable=not config.progress, leave=False):
        pick_real = torch.randint(0, len(real), (half,), generator=rng).numpy()
        pick_generated = torch.randint(0, len(generated), (half,), generator=rng).numpy()
        batch = torch.from_numpy(np.concatenate([real[pick_real], generated[pick_generated]]))
        loss = nn.functional.binary_cross_entropy_with_logits(model(augment(to_model_range(batch), rng)), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def fit_real_model(data: FitData, config: DetectorConfig) -> RealStatistics:
    """The real-image model from real training images alone; its cut keeps all but
    `real_fpr` of the held-out real images."""
    model = fit_real_statistics(RealStatistics(config.components), to_model_range(torch.from_numpy(data.real_train)))
    with torch.inference_mode():
        scores = model.outlier_score(to_model_range(torch.from_numpy(data.real_calibration))).double().numpy()
    model.cut.fill_(float(np.quantile(scores, 1 - config.real_fpr)))
    return model


def fit_zero_shot(data: FitData, config: DetectorConfig) -> tuple[BrightestLevel, dict]:
    """The zero-shot part from real images alone (its floor from the training ones, its cuts from
    the held-out ones), and what the metadata says of it."""
    floor = fit_floor(data.real_train)
    cut = min(floor, fit_brightest_cut(data.real_calibration, config.brightest_jpeg_quality,
                                       config.brightest_jpeg_budget))
    trace_cut = fit_trace_cut(data.real_calibration, config.brightest_trace_budget, floor)
    return BrightestLevel(cut, trace_cut, floor), {
        "part": "brightest_level", "floor": floor, "cut": cut, "jpeg_quality": config.brightest_jpeg_quality,
        "jpeg_budget": config.brightest_jpeg_budget, "trace_cut": trace_cut, "trace_qualities": list(TRACE_QUALITIES),
        "trace_budget": config.brightest_trace_budget}


def calibrate(net: DetectorNet, data: FitData, target_fpr: float) -> dict:
    """Platt scaling of the fingerprint CNN on the calibration sets, then its threshold: the
    highest at most 0 that keeps the whole detector's false positives on the held-out real images
    within `target_fpr`, the real-image model's own (its cut) counted first. Below 0 only when
    needed, as a shift moves the prior the probability is calibrated for."""
    real, generated = (logits_of(net.fingerprint, x) for x in (data.real_calibration, data.generated_calibration))
    a, b = fit_platt(np.r_[real, generated], np.r_[np.ones(len(real)), np.zeros(len(generated))])
    net.platt.copy_(torch.tensor([a, b]))
    # the real images the parts with cuts of their own let through (the zero-shot part: all clean ones)
    kept = np.logical_and.reduce([logits_of(part, data.real_calibration) >= 0
                                  for part in (net.real_model, net.zero_shot, net.top_levels)])
    left = max(0.0, target_fpr * len(kept) - (~kept).sum()) / max(kept.sum(), 1)  # the CNN's share of the budget
    threshold = min(0.0, fpr_threshold(a * real[kept] + b, left))
    net.threshold.fill_(threshold)
    return {"platt": [a, b], "real_model_cut": float(net.real_model.cut), "threshold": threshold,
            "target_fpr": target_fpr, "real_model_fpr": float(np.mean(~kept))}  # every part with a cut


def fit_detector(config: DetectorConfig, generators: list[ZooGenerator],
                 threads: Optional[int] = None) -> tuple[DetectorNet, dict]:
    """The whole fit on `generators`' families, on `threads` CPU threads (default: every usable
    CPU); returns the network and what was fitted."""
    torch.set_num_threads(threads or usable_cpus())
    data = fit_data(config, generators)
    real_model = fit_real_model(data, config)
    zero_shot, zero_shot_fitted = fit_zero_shot(data, config)
    top_levels, top_levels_fitted = fit_top_levels(data.real_train, data.generated_train, data.real_calibration,
                                                   zero_shot_fitted["floor"], config.top_levels_fpr)
    fingerprint = train_fingerprint(data.real_train, data.generated_train, config)
    net = DetectorNet(fingerprint, real_model, zero_shot, top_levels).eval()
    calibration = calibrate(net, data, config.target_fpr)
    families = sorted({g.family for g in generators})
    return net, {**calibration, "zero_shot": zero_shot_fitted, "top_levels": top_levels_fitted, "families": families, "generators": len(generators),
                 "real_train": len(data.real_train), "generated_train": len(data.generated_train)}
