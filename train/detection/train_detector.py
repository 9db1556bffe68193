"""Fit the detector on every family of the zoo and ship it (what `python -m train.detector` does),
or join a part to a detector fitted before it existed (--add-zero-shot, --add-top-levels)."""
import json
import time

from train.data import load_fashion_mnist
from train.detection.config import DetectorConfig
from train.detection.export import (detector_checkpoint, export_detector, install_with_part, TOP_LEVELS_KEY,
                                    ZERO_SHOT_KEY)
from train.detection.fit import fit_detector, fit_zero_shot, FitData, focus_generators, real_split
from train.detection.top_levels import fit_top_levels
from train.detection.zero_shot import fit_floor
from train.detection.zoo import sample_zoo, zoo_generators
from train.errors import TrainError
from train.run.atomic import save_torch_atomic, write_text_atomic


def train_and_export(config: DetectorConfig) -> dict:
    started = time.perf_counter()
    generators = zoo_generators(config.zoo)
    net, fitted = fit_detector(config, generators)
    config.out.mkdir(parents=True, exist_ok=True)
    save_torch_atomic(detector_checkpoint(net, config, fitted), config.out / "detector.pt")
    parity_images = load_fashion_mnist("test", config.data_dir).images.numpy()[:256]
    fitted["onnx_max_abs_difference"] = export_detector(net, fitted, config.export, parity_images)
    fitted["seconds"] = time.perf_counter() - started
    write_text_atomic(config.out / "fit.json", json.dumps(fitted, indent=2) + "\n")
    return fitted


def add_zero_shot(config: DetectorConfig) -> dict:
    """Fit the zero-shot part on the held-out real images (as a full fit does: same split) and join
    it to the detector --add-zero-shot into --export."""
    real_train, real_calibration = real_split(config)
    zero_shot, about = fit_zero_shot(FitData(real_train, real_calibration, None, None), config)
    parity_images = load_fashion_mnist("test", config.data_dir).images.numpy()[:256]
    difference = install_with_part(config.add_zero_shot, zero_shot, ZERO_SHOT_KEY, about, config.export, parity_images)
    return {**about, "base": str(config.add_zero_shot), "onnx_max_abs_difference": difference}


def add_top_levels(config: DetectorConfig) -> dict:
    """Fit the top-levels part on the real training split (its held-out slice for the cut, as a
    full fit splits it) against --generated-train images of the --focus generators, and join it to
    the detector --add-top-levels into --export."""
    real_train, real_calibration = real_split(config)
    focus = focus_generators(config, zoo_generators(config.focus)) if config.focus else []
    if not focus:
        raise TrainError(f"--add-top-levels learns from the --focus generators, and {config.focus or 'none'} "
                         "holds none")
    generated = sample_zoo(focus, config.generated_train, config.seed + 31)[0]
    part, about = fit_top_levels(real_train, generated, real_calibration, fit_floor(real_train), config.top_levels_fpr)
    about["generators"] = [g.name for g in focus]
    parity_images = load_fashion_mnist("test", config.data_dir).images.numpy()[:256]
    difference = install_with_part(config.add_top_levels, part, TOP_LEVELS_KEY, about, config.export, parity_images)
    return {**about, "base": str(config.add_top_levels), "onnx_max_abs_difference": difference}
