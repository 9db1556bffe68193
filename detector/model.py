"""Find the model file, open an onnxruntime session on it, check it follows the contract, and
turn decoded pixels into its input with the scaling its metadata states.

This is the one place that knows where models live and how sessions are made; image decoding
and scoring live elsewhere so either side can change alone.
"""

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .errors import ModelError
from .manifest import check_sha256, check_shipped
from .metadata import INPUT_NAME, ModelInfo, parse_metadata

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# The dedicated detector (python -m train.detector); "discriminator" is the GAN's own D.
DEFAULT_MODEL = "detector"


def resolve_model_path(model: "str | os.PathLike | None" = None) -> Path:
    """Turn a model name or path into the path of an existing file.

    ``None`` means the shipped default; a bare name (``discriminator``, ``detector``) is a file
    stem in ``models/``; anything else, or a name with no such stem, is taken as a path.
    """
    if model is None:
        model = DEFAULT_MODEL
    try:
        text = os.fspath(model)
    except TypeError:
        raise ModelError(f"a model is a name in models/ or a path, not {model!r}") from None
    is_name = text and os.sep not in text and "/" not in text and not text.endswith(".onnx")
    if is_name and (MODELS_DIR / f"{text}.onnx").is_file():
        return MODELS_DIR / f"{text}.onnx"
    path = Path(text)
    if path.is_file():
        return path
    if is_name:
        available = sorted(p.stem for p in MODELS_DIR.glob("*.onnx")) if MODELS_DIR.is_dir() else []
        raise ModelError(f"model {text!r} not found: no file {text!r} and no "
                         f"{MODELS_DIR / (text + '.onnx')} (models available: "
                         f"{', '.join(available) or 'none'})")
    raise ModelError(f"model file not found: {path}")


def to_batch(pixels, scale: float, offset: float) -> np.ndarray:
    """Stack uint8 [H, W] arrays into the float32 [N, 1, H, W] model input (RGB [H, W, 3]
    arrays into [N, 3, H, W])."""
    # A 256-entry table applies `pixel * scale + offset` exactly as float64 would, in one gather.
    table = (np.arange(256, dtype=np.float64) * scale + offset).astype(np.float32)
    stack = np.stack(pixels) if not isinstance(pixels, np.ndarray) else pixels
    return np.ascontiguousarray(table[stack].transpose(0, 3, 1, 2)) if stack.ndim == 4 else table[stack][:, None]


class Model:
    """An onnxruntime session plus the metadata that says how to feed and read it."""

    def __init__(self, path: Path, session: "ort.InferenceSession", info: ModelInfo):
        self.path = path
        self.session = session
        self.info = info

    def to_batch(self, pixels) -> np.ndarray:
        """uint8 [H, W] arrays (or one uint8 [N, H, W] array) as this model's input batch."""
        return to_batch(pixels, self.info.scale, self.info.offset)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Run a preprocessed float32 [N, 1, H, W] batch and return the [N] logits."""
        try:
            (out,) = self.session.run([self.info.output], {INPUT_NAME: batch})
        except Exception as exc:  # onnxruntime's exceptions share no useful base class
            raise ModelError(f"{self.path}: inference failed: {_first_line(exc)}") from None
        out = np.asarray(out)
        if out.shape != (len(batch),):
            raise ModelError(f"{self.path}: output {self.info.output!r} has shape "
                             f"{list(out.shape)}, expected [{len(batch)}]")
        return out


def open_model(model: "str | os.PathLike | None" = None, *, threads: int = 0,
               sha256: "str | None" = None) -> Model:
    """Resolve ``model`` (see resolve_model_path), verify, load it on the CPU and validate it.

    ``threads``: onnxruntime intra-op threads; 0 lets it use one per physical core.
    ``sha256``: the file must have this hash. Without it a file in models/ is checked against
    models/manifest.json (detector/manifest.py) and any other file is not checked.
    """
    path = resolve_model_path(model)
    verify(path, sha256)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: normal runs keep stderr clean
    options.intra_op_num_threads = threads
    # Between batches this thread decodes images; onnxruntime's idle workers would otherwise
    # spin on the other cores and slow that down (measured: up to 1.5x the CPU time).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), sess_options=options,
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # InvalidProtobuf, Fail, NoSuchFile, ... all derive from Exception
        raise ModelError(f"{path}: not a loadable ONNX model: {_first_line(exc)}") from None
    info = parse_metadata(session.get_modelmeta().custom_metadata_map, str(path))
    _check_signature(session, info, path)
    return Model(path, session, info)


def verify(path: Path, sha256: "str | None" = None) -> None:
    """ModelError unless ``path`` has the ``sha256`` given, or (none given) unless a shipped
    model's bytes are the ones its manifest names."""
    if sha256 is not None:
        check_sha256(path, sha256)
    elif path.resolve().parent == MODELS_DIR.resolve():
        check_shipped(path, MODELS_DIR)


def _check_signature(session: "ort.InferenceSession", info: ModelInfo, path: Path) -> None:
    inputs = session.get_inputs()
    if [i.name for i in inputs] != [INPUT_NAME]:
        raise ModelError(f"{path}: expected one input named {INPUT_NAME!r}, "
                         f"found {[i.name for i in inputs]}")
    expected = [None, info.channels, *info.image_size]
    shape = inputs[0].shape
    # Symbolic (string) or unknown (None) dimensions are accepted: only fixed ones can clash.
    if (inputs[0].type != "tensor(float)" or len(shape) != 4
            or any(isinstance(d, int) and e is not None and d != e
                   for d, e in zip(shape, expected))):
        raise ModelError(f"{path}: input {INPUT_NAME!r} is {inputs[0].type} {shape}, expected "
                         f"tensor(float) [N, {info.channels}, {info.image_size[0]}, {info.image_size[1]}]")
    if isinstance(shape[0], int):  # a fixed batch size would fail on the first other batch
        raise ModelError(f"{path}: input {INPUT_NAME!r} has a fixed batch size of {shape[0]}; "
                         f"the detector needs a dynamic first dimension N")
    outputs = {o.name: o for o in session.get_outputs()}
    if info.output not in outputs:
        raise ModelError(f"{path}: metadata names output {info.output!r}, "
                         f"the model has {sorted(outputs)}")
    out = outputs[info.output]
    if out.type != "tensor(float)" or len(out.shape) != 1:
        raise ModelError(f"{path}: output {info.output!r} is {out.type} {out.shape}, "
                         f"expected tensor(float) [N]")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
