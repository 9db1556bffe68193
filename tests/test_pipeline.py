"""The three commands the project is known by, in order and bare, as a new user runs them:
`python -m train` (a short run), `python -m export` (no arguments: the default run, written
beside it, not over the shipped models) and `python -m detector --model <what export wrote>`."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY = ["--device", "cpu", "--max-steps", "2", "--batch-size", "16", "--width", "8",
        "--latent-dim", "8", "--no-progress", "--domain-fid-every", "0"]


def python_m(module: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"python -m {module}: {done.stderr}"
    return done


def test_train_then_bare_export_then_detector(tmp_path, tiny_data_dir):
    shipped = {p.name: p.stat().st_mtime_ns for p in (REPO / "models").glob("*.onnx")}
    python_m("train", "--data-dir", tiny_data_dir, *TINY, cwd=tmp_path)
    run_dir = tmp_path / "runs" / "fmnist-cgan"  # the default --run-dir
    assert (run_dir / "checkpoints" / "latest.pt").is_file()

    exported = python_m("export", "--data-dir", tiny_data_dir, cwd=tmp_path).stdout
    model = Path("runs/fmnist-cgan/models/discriminator.onnx")
    assert (tmp_path / model).is_file() and (tmp_path / model.with_name("generator.onnx")).is_file()
    assert f"python -m detector --model {model} IMAGE" in exported  # says what to run next

    image = REPO / "examples" / "real_coat.png"
    row = json.loads(python_m("detector", "--model", model, image, cwd=tmp_path).stdout)
    assert row["label"] in ("real", "generated") and 0.5 <= row["confidence"] <= 1
    assert {p.name: p.stat().st_mtime_ns for p in (REPO / "models").glob("*.onnx")} == shipped
