"""Fit the detector on every family of the zoo and ship it (what `python -m train.detector` does)."""
import json
import time

from train.data import load_fashion_mnist
from train.detection.config import DetectorConfig
from train.detection.export import detector_checkpoint, export_detector
from train.detection.fit import fit_detector
from train.detection.zoo import zoo_generators
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
