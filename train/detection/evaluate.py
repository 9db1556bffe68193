"""`python -m train.detector --evaluate`: how well the detector catches generators it never saw.

For each generator family: fit a detector on the other families (real images from the training
split only), then test it on the held-out family's final generators against the real test
split, beside the GAN's own discriminator (models/discriminator.onnx) on the same images.
Then the shipped detector (--export) on the seed's test (1k real + 1k from models/generator.onnx)
and its calibration, and the sanity battery (sanity.py) on it and on the discriminator. Writes the
report, a results JSON and figures (report.py). `sanity_battery` alone is `--sanity`: inference only;
shipped.py reuses the shipped models' part for `--shipped`.
"""
import multiprocessing
import time
from concurrent.futures import as_completed, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from detector import load_detector
from detector.errors import ModelError
from detector.metadata import IMAGE_SIZE
from detector.scoring import sigmoid
from train.data import load_fashion_mnist, real_sample
from train.errors import EvaluationError
from train.gan.runtime import usable_cpus
from train.gan.sampling import generated_images

from train.detection.calibration import (average_precision, balanced_accuracy, false_positive_rate,
                                         GOAL_BALANCED_ACCURACY, GOAL_REAL_FPR, reliability)
from train.detection.config import DetectorConfig
from train.detection.fit import fit_detector, logits_of
from train.detection.model import PART_NAMES
from train.detection.report import write_report
from train.detection.row_cache import load_row, row_key, row_path, store_row
from train.detection.sanity import BATTERY, PASS_FRACTION, passed, run_battery
from train.detection.zoo import families, sample_zoo, zoo_generators, ZooGenerator

from detector.model import MODELS_DIR as MODELS  # the shipped discriminator and generator


def onnx_scorer(model) -> Callable[[np.ndarray], np.ndarray]:
    """A shipped model's real_logit as a function of uint8 images [N, 28, 28], through the runtime
    package (one session for every call); `model` as `python -m detector --model` takes it."""
    try:  # a missing, broken or misfitting model is the user's input here (--sanity-models)
        session = load_detector(model).model
    except ModelError as e:
        raise EvaluationError(str(e)) from e
    if session.info.image_size != IMAGE_SIZE:
        raise EvaluationError(f"{session.path}: takes {session.info.image_size[0]}x{session.info.image_size[1]} "
                              f"images, not FashionMNIST's {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}")

    def logits(images: np.ndarray) -> np.ndarray:
        try:
            return session.logits(session.to_batch(images))
        except ModelError as e:
            raise EvaluationError(str(e)) from e
    return logits


def onnx_logits(model: Path, images: np.ndarray) -> np.ndarray:
    """A shipped model's real_logit for uint8 images [N, 28, 28], through the runtime package."""
    return onnx_scorer(model)(images)


def scores(real: np.ndarray, generated: np.ndarray, ap_real: int) -> dict:
    """Balanced accuracy at 0 (all real test images), real FPR, and AP against as many real
    images as generated ones (AP depends on the ratio)."""
    return {"balanced_accuracy": balanced_accuracy(real, generated), "real_fpr": false_positive_rate(real, 0.0),
            "generated_caught": float(np.mean(generated < 0)),
            "average_precision": average_precision(real[:ap_real], generated)}


def held_out_split(generators: list[ZooGenerator], held: str) -> tuple[list, list]:
    """(training generators, test generators): `held` is a family, whose runs all leave training,
    or a run's (or exported generator's) folder (--held-out-runs), which alone leaves it; the test
    generators are the final ones of what left."""
    if held in families(generators):
        out = [g.family == held for g in generators]
    else:
        out = [g.run_dir.resolve() == Path(held).resolve() for g in generators]
        if not any(out):
            raise EvaluationError(f"--held-out-runs: {held} is no run or exported generator of the zoo")
    return ([g for g, o in zip(generators, out) if not o], [g for g, o in zip(generators, out) if o and g.final])


def held_out(config: DetectorConfig, generators: list[ZooGenerator], held: str, real: np.ndarray,
             discriminator_real: np.ndarray, threads: Optional[int] = None) -> dict:
    """Fit without `held` (a family or a run: held_out_split; on `threads` CPU threads), test on
    its final generators (caught: all together and each alone, a strong run beside a short one);
    each part's AP too; the row's seconds (kept with it when a later --evaluate reuses it)."""
    started = time.perf_counter()
    training, finals = held_out_split(generators, held)
    net, fitted = fit_detector(config, training, threads)
    generated, sources = sample_zoo(finals, config.test_per_family, config.seed + 7919)
    n, generated_logits = len(generated), logits_of(net, generated)
    result = {**scores(logits_of(net, real), generated_logits, n),
              "test_generators": [g.name for g in finals], "generated": n, "threshold": fitted["threshold"],
              "caught_by_generator": {g.name: float(np.mean(generated_logits[sources == i] < 0))
                                      for i, g in enumerate(finals)},
              "trained_on": fitted["families"],
              "discriminator": scores(discriminator_real, onnx_logits(MODELS / "discriminator.onnx", generated), n)}
    for part in PART_NAMES:
        module = getattr(net, part)
        result[f"{part}_average_precision"] = average_precision(logits_of(module, real[:n]), logits_of(module, generated))
    return {**result, "seconds": time.perf_counter() - started}


def held_out_all(config: DetectorConfig, generators: list[ZooGenerator], real: np.ndarray,
                 discriminator_real: np.ndarray) -> dict:
    """`held_out` for every family (or each --held-out-families one), then each --held-out-runs run.
    Each row is kept in OUT/held_out as its fit ends and reused while its key holds (row_cache.py).
    With --jobs N, N fits run at once, each in a process of its own with 1/N of the CPU threads:
    the fingerprint CNN is too small to keep many threads busy."""
    names = held_out_names(config, generators)
    keys = {f: row_key(config, generators, f, real, discriminator_real) for f in names}
    rows = {f: load_row(row_path(config.out, f), keys[f]) for f in names}
    to_fit = [f for f in names if rows[f] is None]

    def keep(held: str, row: dict) -> None:
        try:
            store_row(row_path(config.out, held), keys[held], row)
        except OSError as e:
            raise EvaluationError(f"cannot keep the held-out row of {held} in {row_path(config.out, held)}: {e}") from e
        rows[held] = row
    if config.jobs == 1 or not to_fit:
        for f in to_fit:
            keep(f, held_out(config, generators, f, real, discriminator_real))
        return rows
    threads, quiet = max(1, usable_cpus() // config.jobs), replace(config, progress=False)  # N bars would interleave
    # spawn, not fork: a forked child can hang in an OpenMP pool its parent already started
    with ProcessPoolExecutor(config.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        fits = {pool.submit(held_out, quiet, generators, f, real, discriminator_real, threads): f for f in to_fit}
        for fit in as_completed(fits):  # kept as each ends: a stop loses only the fits under way
            keep(fits[fit], fit.result())
    return rows


def held_out_names(config: DetectorConfig, generators: list[ZooGenerator]) -> list[str]:
    """The families (--held-out-families, default every one) and runs (--held-out-runs) to hold out,
    each checked against the zoo before an hour of fits, not after."""
    known = families(generators)
    unknown = [f for f in config.held_out_families if f not in known]
    if unknown:
        raise EvaluationError(f"--held-out-families: {', '.join(unknown)} is no family of the zoo "
                              f"({', '.join(known)})")
    for run in config.held_out_runs:
        held_out_split(generators, run)
    return (list(config.held_out_families) or known) + list(config.held_out_runs)


def held_out_summary(held_out: dict) -> dict:
    """What the docs quote of the held-out table: how many families meet each goal (balanced accuracy,
    real FPR), the worst and best."""
    accuracy = {family: r["balanced_accuracy"] for family, r in held_out.items()}
    worst, best = min(accuracy, key=accuracy.get), max(accuracy, key=accuracy.get)
    return {"families": len(accuracy), "goal": GOAL_BALANCED_ACCURACY,
            "meeting_goal": sum(a >= GOAL_BALANCED_ACCURACY for a in accuracy.values()),
            "worst_family": worst, "worst_balanced_accuracy": accuracy[worst],
            "best_family": best, "best_balanced_accuracy": accuracy[best],
            "largest_real_fpr": max(r["real_fpr"] for r in held_out.values()), "real_fpr_goal": GOAL_REAL_FPR,
            "within_real_fpr_goal": sum(r["real_fpr"] <= GOAL_REAL_FPR for r in held_out.values())}


SEED_TEST_REAL, SEED_TEST_SEED = 1000, 0  # the seed's test: real test images drawn by real_sample


def seed_test(config: DetectorConfig, test) -> dict:
    """The seed's test for the shipped models: 1,000 real test images and 1,000 images of
    models/generator.onnx, 100 per class, seed 0; accuracy = balanced accuracy here."""
    real, _ = real_sample(test.images, test.labels, SEED_TEST_REAL, SEED_TEST_SEED)
    generated = generated_images(MODELS, np.repeat(np.arange(10), 100), np.random.default_rng(0))
    return {name: scores(onnx_logits(path, real), onnx_logits(path, generated), len(generated))
            for name, path in (("detector", config.export), ("discriminator", MODELS / "discriminator.onnx"))}


def calibration(config: DetectorConfig, generators: list[ZooGenerator], real: np.ndarray) -> dict:
    """Reliability of the shipped detector's P(real) on a balanced set: fresh images of every
    family's final generators, and as many real test images."""
    names = families(generators)
    share = min(500, len(real) // len(names))  # as many real images as generated ones
    per_family = [sample_zoo([g for g in generators if g.family == f and g.final], share, config.seed + 104729)[0]
                  for f in names]
    generated = np.concatenate(per_family)
    logits = onnx_logits(config.export, np.concatenate([real[:len(generated)], generated]))
    is_real = np.r_[np.ones(len(generated)), np.zeros(len(generated))]
    return reliability(sigmoid(logits), is_real)


def model_battery(config: DetectorConfig, model, real: np.ndarray) -> dict:
    """One model's battery at logit 0: each set's row, and how many of the checked sets it passed
    (kept beside the rows so the docs can cite the count)."""
    rows = run_battery(onnx_scorer(model), real, 0.0, config.seed)
    sets_passed, checked = passed(rows)
    return {"model": str(model), "sets": rows, "passed": sets_passed, "checked": checked}


def sanity(config: DetectorConfig, models: dict, real: np.ndarray) -> dict:
    """The sanity battery on each of `models` (name -> model) at its shipped threshold (logit 0),
    every set made from the first sanity_per_set images of `real`."""
    real = real[:config.sanity_per_set]
    return {"images_per_set": len(real), "threshold": 0.0, "pass_fraction": PASS_FRACTION, "seed": config.seed,
            "sets": {name: {"expected": s.expected, "what": s.what} for name, s in BATTERY.items()},
            "models": {name: model_battery(config, model, real) for name, model in models.items()}}


def shipped_models(config: DetectorConfig) -> dict:
    """The shipped models the sanity battery checks: --export, and the discriminator by its name
    in models/ (what --model takes), so that no machine's path lands in the JSON."""
    return {"detector": config.export, "discriminator": "discriminator"}


def shipped_files(config: DetectorConfig) -> dict:
    """The model files the shipped figures measure: --export, and models/' discriminator and generator."""
    return {"detector": Path(config.export), "discriminator": MODELS / "discriminator.onnx",
            "generator": MODELS / "generator.onnx"}


def shipped_scores(config: DetectorConfig, test, real: np.ndarray) -> dict:
    """The shipped detector's real FPR at logit 0 over the whole test split (`real`), and the
    seed's test of both shipped models."""
    return {"real_test_fpr": false_positive_rate(onnx_logits(config.export, real), 0.0),
            "seed_test": seed_test(config, test)}


def shuffled_test(config: DetectorConfig):
    """The real test split, and its images in the seeded order every measurement here draws from."""
    test = load_fashion_mnist("test", config.data_dir)
    return test, test.images.numpy()[np.random.default_rng(config.seed).permutation(len(test))]


def sanity_battery(config: DetectorConfig) -> dict:
    """`python -m train.detector --sanity`: the battery on each --sanity-models model."""
    _, real = shuffled_test(config)
    return sanity(config, {str(model): model for model in config.sanity_models}, real)


def evaluate_detector(config: DetectorConfig) -> dict:
    if config.jobs < 1:  # refused before the zoo is read, not minutes later
        raise EvaluationError(f"--jobs must be 1 or more, not {config.jobs}")
    started = time.perf_counter()
    generators = zoo_generators(config.zoo)
    test, real = shuffled_test(config)
    discriminator_real = onnx_logits(MODELS / "discriminator.onnx", real)
    results = {"held_out": held_out_all(config, generators, real, discriminator_real)}
    results["held_out_summary"] = held_out_summary(results["held_out"])
    results["shipped"] = {"model": str(config.export), **shipped_scores(config, test, real),
                          "calibration": calibration(config, generators, real)}
    results["sanity"] = sanity(config, shipped_models(config), real)
    results["zoo"] = {f: sorted(g.name for g in generators if g.family == f) for f in families(generators)}
    results["config"] = {k: str(v) for k, v in vars(config).items()}
    results["seconds"] = time.perf_counter() - started
    write_report(results, config.report)
    return results
