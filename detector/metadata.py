"""The model contract: the metadata every exported model carries, its one writer and its parser.

Written by ``export/`` (the GAN's discriminator and generator) and ``train.detection`` (the
dedicated detector) through ``contract_metadata``, read by this runtime through
``parse_metadata``. Every value is a string, JSON where structured. Keeping both sides here,
apart from onnxruntime, lets them be tested on plain dictionaries.
"""

import json
from typing import Mapping, NamedTuple, Sequence

from .errors import ModelError

SCHEMA = "fmnist-detector/1"
REQUIRED_KEYS = ("schema", "kind", "image_size", "normalization", "output", "positive_label",
                 "labels")
# uint8 pixel p -> model input p * PIXEL_SCALE + PIXEL_OFFSET: [0, 255] -> [-1, 1], the range the
# generator's tanh outputs and every network of the project reads.
PIXEL_SCALE = 1 / 127.5
PIXEL_OFFSET = -1.0
NORMALIZATION = {"scale": PIXEL_SCALE, "offset": PIXEL_OFFSET}
INPUT_NAME = "image"  # the one input of a real-vs-generated model: float32 [N, C, H, W]
# A generator's inputs (noise float32 [N, latent_dim]; labels int64 [N], absent when unconditional)
# and its output, float32 [N, 1, H, W] in model range: export/ writes them, train/gan/sampling.py feeds them.
NOISE_INPUT, LABELS_INPUT, GENERATOR_OUTPUT = "noise", "labels", "image"
REAL_LOGIT = "real_logit"  # the output of a real-vs-generated model: log-odds of "real"
LABELS = ("real", "generated")  # (positive_label, the other one) of such a model
IMAGE_SIZE = (28, 28)
# Colour channels of a model's images: 1 (grey, the default when the key is absent, as in every
# FashionMNIST model) or 3 (RGB, written only then: key "channels").
CHANNELS = (1, 3)


def contract_metadata(kind: str, class_names: Sequence[str], image_size: Sequence[int] = IMAGE_SIZE,
                      output: str = REAL_LOGIT, channels: int = 1, **extra) -> dict[str, str]:
    """The metadata a model of ``kind`` carries: the contract's keys, then ``extra``.

    ``channels`` 3 (RGB) adds the key "channels"; grey models (1) carry no such key.
    A model whose ``output`` is REAL_LOGIT also gets its labels, so it passes parse_metadata.
    Values of ``extra`` that are not strings are JSON-encoded (lists, dicts, numbers, booleans).
    """
    meta = {"schema": SCHEMA, "kind": kind, "output": output,
            "image_size": json.dumps(list(image_size)), "normalization": json.dumps(NORMALIZATION),
            "class_names": json.dumps(list(class_names))}
    if channels != 1:
        meta["channels"] = str(channels)
    if output == REAL_LOGIT:
        meta.update(positive_label=LABELS[0], labels=json.dumps(list(LABELS)))
    for key, value in extra.items():
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    return meta


class ModelInfo(NamedTuple):
    """What the runtime needs to know about a model, taken from its metadata."""

    kind: str
    image_size: tuple[int, int]  # (height, width)
    scale: float  # input = uint8 pixel * scale + offset
    offset: float
    output: str  # name of the float32 [N] logit output
    positive_label: str  # the label the logit speaks for ("real")
    negative_label: str  # the other label ("generated")
    labels: tuple[str, ...]
    class_names: tuple[str, ...]  # informational; empty when absent
    extra: dict  # every other key (run, step, export_date, project_version, ...)
    channels: int = 1  # 1: grey pixels [H, W]; 3: RGB pixels [H, W, 3]

    @property
    def pixel_shape(self) -> tuple:
        """The shape of one decoded image: (H, W) grey, (H, W, 3) RGB."""
        return self.image_size if self.channels == 1 else (*self.image_size, self.channels)


def parse_metadata(meta: Mapping[str, str], source: str) -> ModelInfo:
    """Validate ``meta`` (a custom_metadata_map) and return the parsed ModelInfo.

    ``source`` names the model file in every error message.
    """
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise ModelError(f"{source}: metadata lacks {', '.join(missing)} "
                         f"(is it an exported {SCHEMA} model?)")
    if meta["schema"] != SCHEMA:
        raise ModelError(f"{source}: metadata schema is {meta['schema']!r}, "
                         f"this detector reads {SCHEMA!r}")
    height, width = _image_size(_json(meta, "image_size", source), source)
    scale, offset = _normalization(_json(meta, "normalization", source), source)
    labels = _strings(_json(meta, "labels", source), "labels", source)
    positive = meta["positive_label"]
    if len(labels) != 2 or positive not in labels or labels[0] == labels[1]:
        raise ModelError(f"{source}: metadata labels {list(labels)} must be two distinct labels "
                         f"including positive_label {positive!r}")
    negative = labels[1] if labels[0] == positive else labels[0]
    class_names = ()
    if "class_names" in meta:
        class_names = _strings(_json(meta, "class_names", source), "class_names", source)
    extra = {k: v for k, v in meta.items() if k not in (*REQUIRED_KEYS, "class_names", "channels")}
    channels = meta.get("channels", "1")
    if channels not in [str(c) for c in CHANNELS]:
        raise ModelError(f"{source}: metadata channels must be 1 or 3, got {channels!r}")
    return ModelInfo(meta["kind"], (height, width), scale, offset, meta["output"], positive,
                     negative, labels, class_names, extra, int(channels))


def _json(meta: Mapping[str, str], key: str, source: str):
    try:
        return json.loads(meta[key])
    except ValueError as exc:
        raise ModelError(f"{source}: metadata {key} is not valid JSON ({exc}): "
                         f"{meta[key]!r}") from None


def _image_size(value, source: str) -> tuple[int, int]:
    # bool is an int subclass; [true, true] is not a size.
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        return value[0], value[1]
    raise ModelError(f"{source}: metadata image_size must be [height, width], got {value!r}")


def _normalization(value, source: str) -> tuple[float, float]:
    if isinstance(value, dict):
        scale, offset = value.get("scale"), value.get("offset")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (scale, offset)):
            return float(scale), float(offset)
    raise ModelError(f"{source}: metadata normalization must be "
                     f'{{"scale": number, "offset": number}}, got {value!r}')


def _strings(value, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ModelError(f"{source}: metadata {key} must be a JSON list of strings, got {value!r}")
