"""Copy an ONNX model with metadata keys added, its graph untouched.

    python scripts/add_onnx_metadata.py IN.onnx OUT.onnx KEY=VALUE [KEY=VALUE ...]

For a generator exported before `python -m export` wrote a key the zoo now reads (`loss`) and
whose run is gone, so that it cannot be exported again: strong_zoo/shipped-recipe is
models/generator.onnx with `loss=hinge` (strong_zoo/README.md). A key the model has already is
refused: this adds facts, it does not rewrite them. OUT's folder gets a manifest.json entry as
every exported model does.
"""
import sys
import tempfile
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train.run.onnx_file import install  # noqa: E402


def with_metadata(model: onnx.ModelProto, added: dict) -> onnx.ModelProto:
    present = {p.key for p in model.metadata_props}
    clash = sorted(present & set(added))
    if clash:
        raise SystemExit(f"add_onnx_metadata: the model has {', '.join(clash)} already; keys are added, not replaced")
    model.metadata_props.extend(onnx.StringStringEntryProto(key=k, value=v) for k, v in added.items())
    return model


def main(argv: list) -> int:
    if len(argv) < 3 or not all("=" in pair for pair in argv[2:]):
        raise SystemExit(__doc__.split("\n\n")[1])
    source, out = Path(argv[0]), Path(argv[1])
    model = with_metadata(onnx.load(str(source)), dict(pair.split("=", 1) for pair in argv[2:]))
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp_dir:
        tmp = Path(tmp_dir) / out.name
        onnx.save(model, str(tmp))
        install(tmp, out)
    print(f"wrote {out}: {source} with {', '.join(argv[2:])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
