"""scripts/train_strong_zoo.sh, dry: PYTHON=echo prints the commands it would run, which are
parsed with `python -m train`'s own parser; and what it committed, strong_zoo/, against its card."""
import lzma
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from argparse_dataclass import ArgumentParser

from detector.manifest import check_shipped, MANIFEST, read_manifest
from train.gan.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "train_strong_zoo.sh"
NAMES = ["recipe-seed1", "mlp-recipe", "pixelshuffle-recipe", "upsample-recipe"]


def dry_run(tmp_path, *names, **settings):
    env = {**os.environ, "PYTHON": "echo", "RUNS": str(tmp_path), **settings}
    done = subprocess.run([str(SCRIPT), *names], capture_output=True, text=True, env=env, cwd=tmp_path)
    commands = [shlex.split(line) for line in done.stdout.splitlines() if not line.startswith("==")]
    return done, commands


def test_every_run_is_the_default_recipe_for_125_epochs_with_a_seed_of_its_own(tmp_path):
    done, commands = dry_run(tmp_path)
    assert done.returncode == 0, done.stderr
    trains = [c[2:] for c in commands if c[:2] == ["-m", "train"]]
    exports = [c for c in commands if c[:2] == ["-m", "export"]]
    configs = [ArgumentParser(TrainConfig).parse_args(args) for args in trains]
    assert [c.run_dir for c in configs] == [tmp_path / name for name in NAMES]
    assert all(c.epochs == 125 and c.loss == "hinge" and c.ema == 0.999 for c in configs)
    assert len({c.seed for c in configs} | {TrainConfig().seed}) == len(NAMES) + 1  # none is the shipped run's
    assert {c.generator for c in configs} >= {"convtranspose", "mlp", "pixelshuffle", "upsample"}
    assert [e[-1] for e in exports] == [f"strong_zoo/{name}" for name in NAMES]


def test_a_run_with_a_checkpoint_is_resumed(tmp_path):
    (tmp_path / "mlp-recipe" / "checkpoints").mkdir(parents=True)
    (tmp_path / "mlp-recipe" / "checkpoints" / "latest.pt").write_bytes(b"")
    _, commands = dry_run(tmp_path, "mlp-recipe", "upsample-recipe")
    resumed = ["--resume" in c for c in commands if c[:2] == ["-m", "train"]]
    assert resumed == [True, False]


def test_nproc_trains_a_run_with_torchrun_over_that_many_processes(tmp_path):
    _, commands = dry_run(tmp_path, "upsample-recipe", NPROC="2")
    train = commands[0]
    assert train[:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m"]
    config = ArgumentParser(TrainConfig).parse_args(train[6:])  # the same flags as one process gets
    assert train[5] == "train" and config.generator == "upsample" and config.epochs == 125
    assert commands[1][:2] == ["-m", "export"]


def fake_run(folder: Path, step: int) -> None:
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "latest.pt").write_bytes(f"step {step}".encode())
    (folder / "config.json").write_text('{"seed": 5}')
    (folder / "metrics.jsonl").write_text("".join(f'{{"step": {i}}}\n' for i in range(1, step + 1)))


def test_park_keeps_a_stopped_run_and_a_later_run_resumes_it(tmp_path):
    runs, parked = tmp_path / "runs", tmp_path / "strong_zoo" / "in_progress" / "upsample-recipe"
    fake_run(runs / "upsample-recipe", step=7)
    env = {**os.environ, "PYTHON": "echo", "RUNS": str(runs)}
    done = subprocess.run([str(SCRIPT), "--park", "upsample-recipe"], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (parked / "checkpoints" / "latest.pt").read_bytes() == b"step 7"
    assert lzma.decompress((parked / "metrics.jsonl.xz").read_bytes()) == \
        (runs / "upsample-recipe" / "metrics.jsonl").read_bytes()
    shutil.rmtree(runs)  # a new machine: only the repository's files
    _, commands = dry_run(tmp_path, "upsample-recipe", RUNS=str(runs))
    assert "--resume" in commands[0]
    assert (runs / "upsample-recipe" / "checkpoints" / "latest.pt").read_bytes() == b"step 7"
    assert (runs / "upsample-recipe" / "metrics.jsonl").read_text().count("\n") == 7
    assert parked.is_dir()  # the dry run exported nothing, so the parked copy stays
    (tmp_path / "strong_zoo" / "upsample-recipe").mkdir()
    (tmp_path / "strong_zoo" / "upsample-recipe" / "generator.onnx").write_bytes(b"")
    dry_run(tmp_path, "upsample-recipe", RUNS=str(runs))
    assert not parked.exists()  # exported: the parked copy is superseded


def test_park_without_a_checkpoint_is_refused(tmp_path):
    env = {**os.environ, "PYTHON": "echo", "RUNS": str(tmp_path)}
    done = subprocess.run([str(SCRIPT), "--park", "mlp-recipe"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and "nothing to park" in done.stderr


@pytest.mark.parametrize("nproc", ["0", "two", "-1", "2.5"])
def test_a_bad_nproc_is_refused_before_anything_runs(tmp_path, nproc):
    done, commands = dry_run(tmp_path, "upsample-recipe", NPROC=nproc)
    assert done.returncode == 2 and f"NPROC must be a whole number >= 1, not '{nproc}'" in done.stderr
    assert commands == []


@pytest.mark.parametrize("name", ["nosuch", "shipped-recipe"])
def test_an_unknown_run_is_refused_before_anything_runs(tmp_path, name):
    done, commands = dry_run(tmp_path, "mlp-recipe", name)
    assert done.returncode == 2 and name in done.stderr
    assert commands == []


def test_the_committed_strong_generators_name_their_runs_here():
    committed = {p.name for p in (REPO / "strong_zoo").iterdir() if p.is_dir()}
    assert committed - {"shipped-recipe", "in_progress"} <= set(NAMES)  # the shipped run's checkpoints are gone
    parked = REPO / "strong_zoo" / "in_progress"
    assert not parked.is_dir() or {p.name for p in parked.iterdir() if p.is_dir()} <= set(NAMES)


STRONG_ZOO = REPO / "strong_zoo"
BUDGET_BYTES = 40 * 10**6  # strong_zoo/README.md: 40 MB in all


def test_every_committed_strong_generator_has_a_card_row_and_the_files_its_manifest_names():
    card = (STRONG_ZOO / "README.md").read_text()
    for folder in sorted(p for p in STRONG_ZOO.iterdir() if (p / "generator.onnx").is_file()):
        assert f"| `{folder.name}` |" in card, f"strong_zoo/README.md has no row for {folder.name}"
        if (folder / MANIFEST).is_file():
            for name in read_manifest(folder):
                check_shipped(folder / name, folder)  # ModelError when the bytes are not the manifest's


def test_the_strong_zoo_keeps_its_size_budget():
    assert sum(p.stat().st_size for p in STRONG_ZOO.rglob("*") if p.is_file()) <= BUDGET_BYTES
