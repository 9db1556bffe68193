"""`python -m train.detector --strangers`: the shipped detector against strong generators.

A stranger is an exported generator's folder (`python -m export`'s generator.onnx; strong_zoo/
keeps them). For each: --strangers-per-set of its images (classes balanced, fresh noise) against
as many real test images, at the shipped threshold (logit 0): balanced accuracy, caught, AP, and
each part of the detector alone (`part_outputs`: the logits its graph takes the minimum of), plus
the images' domain FID (the classifier-feature FID of train/metrics/domain.py), so that caught
can be read against the stranger's strength. A stranger is *held out* when its generator was
exported after the detector was fitted (both files' `export_date`; a part joined later keeps the
base's) and is not among the generators a joined part names in its metadata: the detector cannot
have learnt from it. Written to --strangers-json (docs/strangers.json), which docs/detector.md cites (the command puts
the table in with --strangers-doc: train/detector.py).
"""
import datetime
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import onnx
import onnxruntime as ort

from detector.api import load_detector
from detector.metadata import REAL_LOGIT
from train.data import CLASS_NAMES, load_fashion_mnist
from train.detection.calibration import average_precision, balanced_accuracy, false_positive_rate
from train.detection.config import DetectorConfig
from train.detection.model import PART_NAMES as PARTS
from train.detection.shipped import file_record, shown
from train.detection.zero_shot import brightest_levels
from train.detection.zoo import find_runs, is_exported
from train.errors import EvaluationError
from train.gan.sampling import balanced_labels, conditional_metadata, generated_images
from train.metrics.classifier import DEFAULT_CLASSIFIER, classifier_features, load_classifier
from train.metrics.fid import fid_from_features
from train.run.atomic import write_text_atomic
from train.run.onnx_file import read_metadata


def part_logit_names(model: onnx.ModelProto) -> dict:
    """{part: tensor} for the tensors whose minimum is the model's real_logit: a fitted DetectorNet
    takes ReduceMin over a Concat of its parts (PARTS order); a joined detector (--add-zero-shot,
    --add-top-levels) a Min of the base's logit and the joined part's, whose own names start with
    `part/`. A detector older than some part lacks it."""
    producer = {out: node for node in model.graph.node for out in node.output}

    def parts(tensor: str) -> list[str]:
        node = producer.get(tensor)
        if node is None or tensor.startswith(tuple(f"{part}/" for part in PARTS)):
            return [tensor]  # an input, or a joined part's own logit (its graph may end in a Min too)
        if node.op_type == "Min":
            return [name for t in node.input for name in parts(t)]
        if node.op_type == "ReduceMin" and producer[node.input[0]].op_type == "Concat":
            return [producer[t].input[0] if producer[t].op_type == "Unsqueeze" else t
                    for t in producer[node.input[0]].input]
        return [tensor]
    names = parts(REAL_LOGIT)
    joined = {tensor.split("/")[0]: tensor for tensor in names if tensor.split("/")[0] in PARTS}
    fitted = [tensor for tensor in names if tensor not in joined.values()]
    if len(names) < 2 or len(fitted) > len(PARTS) - len(joined):
        raise EvaluationError(f"the detector's real_logit is the minimum of {len(names)} tensors, "
                              f"which are not its parts ({', '.join(PARTS)})")
    return {**dict(zip([p for p in PARTS if p not in joined], fitted)), **joined}


def part_outputs(path: Path):
    """A function: uint8 images [N, 28, 28] -> {part: logit [N]} for the detector at `path`, from
    its own graph with the parts' tensors made outputs (normalised as the runtime does)."""
    model = onnx.load(str(path))
    names = part_logit_names(model)
    model.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                              for n in names.values())
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    to_batch = load_detector(path).model.to_batch
    input_name = session.get_inputs()[0].name

    def logits(images: np.ndarray) -> dict:
        outputs = session.run(list(names.values()), {input_name: to_batch(images)})
        return {part: np.asarray(out).reshape(len(images)) for part, out in zip(names, outputs)}
    return logits


def export_date(path: Path, meta: Optional[dict] = None) -> datetime.datetime:
    """When the model at `path` was exported (its metadata `meta`, read from the file when not given)."""
    meta = read_metadata(path) if meta is None else meta
    if "export_date" not in meta:
        raise EvaluationError(f"{path} has no export_date in its metadata: export it again")
    return datetime.datetime.fromisoformat(meta["export_date"])


def stranger_folders(paths: list) -> list[Path]:
    folders = [p for p in find_runs(paths) if is_exported(p)]
    if not folders:
        raise EvaluationError(f"no exported generators (generator.onnx) under {', '.join(map(str, paths))}")
    return folders


def detector_logit(parts: dict) -> np.ndarray:
    """The whole detector's real_logit from its parts' (part_outputs): their minimum, as in its graph."""
    return np.min(list(parts.values()), 0)


def scored(real: dict, generated: dict) -> dict:
    """Each part's and the whole detector's (`detector`) figures at logit 0."""
    real, generated = {**real, "detector": detector_logit(real)}, {**generated, "detector": detector_logit(generated)}
    return {name: {"balanced_accuracy": balanced_accuracy(real[name], generated[name]),
                   "caught": float(np.mean(generated[name] < 0)), "real_fpr": false_positive_rate(real[name], 0.0),
                   # the binomial standard error of `caught`: how far another draw of noise may move it
                   "caught_standard_error": float(np.sqrt(np.mean(generated[name] < 0)
                                                          * np.mean(generated[name] >= 0) / len(generated[name]))),
                   "average_precision": average_precision(real[name], generated[name])} for name in real}


@dataclass
class Reference:
    """What every stranger is measured against: the detector's parts as a function of uint8
    images, their logits on the real test images, the classifier and the real images' features,
    the detector's export date, the folders its joined parts learnt from, and its zero-shot
    part's floor (None when it has none)."""
    parts: Callable
    real: dict
    classifier: object
    real_features: np.ndarray
    detector_date: datetime.datetime
    learnt_from: set
    floor: Optional[int]


def measure_stranger(folder: Path, reference: Reference, seed: int) -> dict:
    """One stranger's row: as many of its images as there are real ones, scored by the parts."""
    generator = folder / "generator.onnx"
    n = len(next(iter(reference.real.values())))
    labels = balanced_labels(n, len(CLASS_NAMES))
    images = generated_images(folder, labels, np.random.default_rng(seed))
    parts = reference.parts(images)
    caught = detector_logit(parts) < 0
    meta = read_metadata(generator)
    row = {"generator": file_record(generator), "run": meta.get("run"), "step": int(meta.get("step", 0)),
           "architecture": meta.get("architecture"), "loss": meta.get("loss"),
           "held_out": (export_date(generator, meta) > reference.detector_date
                        and folder.name not in reference.learnt_from),
           "domain_fid": fid_from_features(reference.real_features, classifier_features(reference.classifier, images)),
           "images": len(images), **scored(reference.real, parts)}
    if conditional_metadata(meta):  # which garments pass as real
        row["caught_by_class"] = {name: float(np.mean(caught[labels == i])) for i, name in enumerate(CLASS_NAMES)}
    if reference.floor is not None:  # how many reach the format's floor: the images the zero-shot part lets through
        row["reaching_floor"] = float(np.mean(brightest_levels(images) >= reference.floor))
    return row


def measure_strangers(config: DetectorConfig) -> dict:
    """Measure --export on every stranger under config.stranger_dirs; write config.strangers_json."""
    folders = stranger_folders(config.stranger_dirs)
    extra = load_detector(config.export).info.extra  # the joined parts say how they were fitted
    detector = {**file_record(Path(config.export)),
                **{part: json.loads(extra[part]) for part in PARTS if part in extra}}
    parts = part_outputs(Path(config.export))
    test = load_fashion_mnist("test", config.data_dir).images.numpy()
    real_images = test[np.random.default_rng(config.seed).permutation(len(test))][: config.strangers_per_set]
    classifier, _ = load_classifier(DEFAULT_CLASSIFIER)
    learnt_from = {name.split("/")[0] for part in PARTS for name in detector.get(part, {}).get("generators", [])}
    reference = Reference(parts, parts(real_images), classifier, classifier_features(classifier, test),
                          export_date(Path(config.export)), learnt_from, detector.get("zero_shot", {}).get("floor"))
    # each stranger's noise from its name: adding a folder to strong_zoo/ changes no other row
    rows = {folder.name: measure_stranger(folder, reference, config.seed + zlib.crc32(folder.name.encode()))
            for folder in folders}
    results = {"date": datetime.date.today().isoformat(), "detector": detector, "real_images": len(real_images),
               "threshold": 0.0, "strangers": rows, "sources": [shown(Path(p)) for p in config.stranger_dirs]}
    config.strangers_json.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(config.strangers_json, json.dumps(results, indent=2) + "\n")
    return results
