"""Real `python -m detector` processes: no torch, no tracebacks, exit codes.

Each process costs ~0.2-0.4 s, so these tests are few and each checks several things.
"""

import ast
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "detector"
ALLOWED = {"onnxruntime", "numpy", "PIL"}  # what the image command line loads
SERVE_ONLY = {"uvicorn", "starlette", "anyio", "python_multipart"}  # and `serve`, besides


@pytest.fixture(scope="module")
def no_torch_env(tmp_path_factory):
    """Environment where `import torch` / `import torchvision` fail loudly."""
    blocker = tmp_path_factory.mktemp("blocker")
    for name in ("torch", "torchvision"):
        (blocker / name).mkdir()
        (blocker / name / "__init__.py").write_text(
            f"raise ImportError('{name} is blocked: the detector must not import it')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    check = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True)
    assert b"blocked" in check.stderr  # the blocker works
    return env


def bomb_png(png: bytes) -> bytes:
    """``png`` with its IHDR (and checksum) rewritten to declare 100000 x 100000 pixels."""
    ihdr = b"IHDR" + (100000).to_bytes(4, "big") * 2 + png[24:29]
    return png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]


def detector_process(*args, env, stdin=b""):
    return subprocess.run([sys.executable, "-m", "detector", *map(str, args)], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, timeout=60)


def test_single_image_and_stdin_without_torch(no_torch_env, tiny_model, tmp_path, helpers):
    path = tmp_path / "white.png"
    data = helpers.encode(np.full((28, 28), 255, np.uint8))
    path.write_bytes(data)
    done = detector_process("--model", tiny_model, path, env=no_torch_env)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == b'{"label": "real", "confidence": 0.9933}\n'
    done = detector_process("--model", tiny_model, "-", env=no_torch_env, stdin=data)
    assert done.returncode == 0 and json.loads(done.stdout)["label"] == "real"


def test_bad_inputs_give_rows_not_tracebacks(no_torch_env, tiny_model, tmp_path, helpers):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = helpers.encode(np.zeros((28, 28), np.uint8))
    corpus = {"0-good.png": good, "empty.png": b"", "text.png": b"hello\n",
              "random.jpg": np.random.default_rng(0).bytes(2000), "truncated.png": good[:50],
              "big.png": helpers.encode(np.zeros((30, 30), np.uint8)),
              "bomb.png": bomb_png(good),
              "z-good.gif": helpers.encode(np.zeros((28, 28), np.uint8), "GIF")}
    for name, content in corpus.items():
        (folder / name).write_bytes(content)
    done = detector_process("--model", tiny_model, folder, tmp_path / "missing.png",
                            env=no_torch_env)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    stderr = done.stderr.decode()
    assert done.returncode == 1 and len(rows) == len(corpus) + 1
    assert [r["path"] for r in rows if "label" in r] == [str(folder / "0-good.png"),
                                                          str(folder / "z-good.gif")]
    errors = {Path(r["path"]).name: r["error"] for r in rows if "error" in r}
    assert "decompression bomb" in errors["bomb.png"] and "30x30" in errors["big.png"]
    assert "Traceback" not in stderr and "Warning" not in stderr
    assert stderr.count("\n") == len(corpus) - 1 and all(
        line.startswith("detector: ") for line in stderr.splitlines())


@pytest.mark.parametrize("model_bytes", [None, b"corrupt"])
def test_bad_model_is_fatal_without_traceback(no_torch_env, tmp_path, model_bytes):
    model = tmp_path / "m.onnx"
    if model_bytes is not None:
        model.write_bytes(model_bytes)
    done = detector_process("--model", model, tmp_path, env=no_torch_env)
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert list(json.loads(done.stdout)) == ["error"]
    assert done.stderr.decode().startswith("detector: ") and done.stderr.count(b"\n") == 1


def test_imports_only_the_runtime_dependencies(tiny_model, tmp_path, helpers):
    path = tmp_path / "a.png"
    path.write_bytes(helpers.encode(np.zeros((28, 28), np.uint8)))
    code = ("import sys, json; from detector.__main__ import main; main(sys.argv[1:]); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code, "--model", str(tiny_model), str(path)],
                          cwd=ROOT, capture_output=True, timeout=60, check=True)
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    third_party = {m for m in loaded - set(sys.stdlib_module_names) if not m.startswith("_")}
    assert third_party <= ALLOWED | {"detector"}, third_party


def test_source_imports_no_torch_and_nothing_unlisted():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED | SERVE_ONLY or top in sys.stdlib_module_names, \
                    f"{path}: imports {name}"
                assert "torch" not in name, f"{path}: imports {name}"
