"""./run.sh DATA_PATH end to end on a synthetic Stanford Dogs folder: the slow test of the suite
(about 2 minutes on a busy 2-core CPU): a tiny network trains 20 steps, exactly 10,000 64×64 RGB
PNGs replace result/images_inference/, and an FID line is printed (on FID_IMAGES=10 per side)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

RUN_SH = Path(__file__).resolve().parents[1] / "run.sh"
TINY = "--device cpu --width 8 --batch-size 16 --latent-dim 16 --no-progress"


def run_sh(args, tmp_path, **env):
    env = {**os.environ, "PYTHON": sys.executable, "RESULT_DIR": str(tmp_path / "result"), **env}
    return subprocess.run([str(RUN_SH), *args], capture_output=True, text=True, env=env, timeout=900)


def test_run_sh_writes_exactly_10000_rgb_pngs_and_an_fid(dogs_dir, tmp_path):
    stale = tmp_path / "result" / "images_inference"
    stale.mkdir(parents=True)
    (stale / "old.png").write_bytes(b"stale")
    done = run_sh([str(dogs_dir)], tmp_path, MAX_STEPS="20", FID_IMAGES="10", TRAIN_FLAGS=TINY)
    assert done.returncode == 0, done.stderr[-2000:]
    files = sorted((tmp_path / "result" / "images_inference").iterdir())
    assert len(files) == 10_000 and all(f.suffix == ".png" for f in files)
    for f in files:  # the header only: mode and size
        with Image.open(f) as image:
            assert (image.mode, image.size) == ("RGB", (64, 64)), f
    assert re.search(r"^FID \d+\.\d\d \(10 generated vs 10 real images\); MiFID", done.stdout, re.M)
    result = json.loads((tmp_path / "result" / "fid.json").read_text())
    assert result["n_generated"] == result["n_real"] == 10 and result["fid"] > 0
    assert (tmp_path / "result" / "run" / "loss_curves.png").is_file()
    assert sorted(p.name for p in (tmp_path / "result" / "run" / "samples").iterdir())[0] == "epoch_001.png"


@pytest.mark.parametrize("args, message", [([], "usage: ./run.sh DATA_PATH"), (["/no/such/dir"], "no such folder")])
def test_run_sh_usage_errors(tmp_path, args, message):
    done = run_sh(args, tmp_path)
    assert done.returncode == 2 and message in done.stderr


def test_run_sh_on_a_folder_without_images_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    done = run_sh([str(tmp_path / "empty")], tmp_path, TRAIN_FLAGS=TINY)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"train: {tmp_path / 'empty'} has no images/ folder (the Stanford Dogs layout: images/<wnid>-<Breed>/*.jpg, annotations/<wnid>-<Breed>/<file stem>)"
