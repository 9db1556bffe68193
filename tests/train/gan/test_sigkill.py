"""SIGKILL a training process while it writes checkpoints: latest.pt always loads, --resume goes on.

Each training run is a real process, forked from a helper that imported torch once (a fresh
`python -m train` costs seconds of imports per kill). The figures are stubbed out so that
checkpoint writes are a large share of the time: the tiny set's epochs are 4 steps and each
ends with two checkpoint saves. Kills land at random moments, then at chosen points of a save:
mid-write of the temp file, after it is complete but before the rename, and after the rename.
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from train.gan.checkpoint import load_checkpoint, networks_from_checkpoint
from train.run.rundir import RunDir

REPO = Path(__file__).resolve().parents[3]

# Reads one JSON request per line: {"config": ..., "log": path, "die_at": [n, when] or null};
# forks a child that trains with that config, prints the child's pid, then its wait status.
ZYGOTE = r"""
import io, json, os, signal, sys, traceback
import torch
import torch._dynamo  # the first optimizer imports it lazily: ~2 s each child would pay
from train.gan import checkpoint, trainer
from train.gan.config import TrainConfig


def die_at(n, when):
    # SIGKILL this process at the n-th checkpoint save: mid-write, before or after the rename.
    real_save, real_replace, saves = torch.save, os.replace, [0]

    def save(obj, f, *args, **kwargs):
        saves[0] += 1
        if saves[0] == n and when == "mid":
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        real_save(obj, f, *args, **kwargs)

    def replace(src, dst):
        if saves[0] == n and when == "before" and str(dst).endswith(".pt"):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
        if saves[0] == n and when == "after" and str(dst).endswith(".pt"):
            os.kill(os.getpid(), signal.SIGKILL)

    checkpoint.torch.save, checkpoint.os.replace = save, replace


def child(request):
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.dup2(os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)
    torch.set_num_threads(1)
    torch.set_num_threads = lambda n: None  # setup() would ask for one per core
    trainer.write_figures = lambda *args, **kwargs: None
    if request["die_at"]:
        die_at(*request["die_at"])
    trainer.train(TrainConfig.from_json(request["config"]))


print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child(request)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


class Zygote:
    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-c", ZYGOTE], cwd=REPO, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.watchdog = threading.Timer(120, self.process.kill)  # never hang the suite
        self.watchdog.start()
        assert self.process.stdout.readline() == "ready\n"

    def run(self, config, log: Path, kill_after=None, die_at=None) -> int:
        """Train `config` in a forked child; SIGKILL it after `kill_after` s; its wait status."""
        request = {"config": config.to_json(), "log": str(log), "die_at": die_at}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        pid = int(self.process.stdout.readline())
        if kill_after is not None:
            threading.Event().wait(kill_after)
            os.kill(pid, signal.SIGKILL)
        return int(self.process.stdout.readline())

    def close(self):
        self.watchdog.cancel()
        self.process.kill()  # no children left; skips ~2 s of torch's interpreter teardown
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def zygote():
    helper = Zygote()
    yield helper
    helper.close()


def killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def check_latest(run: RunDir, tiny, log: Path, at_least: int = 0) -> int:
    """latest.pt loads, rebuilds both networks and sits on an epoch boundary; its step."""
    checkpoint = load_checkpoint(run.latest)
    networks_from_checkpoint(checkpoint)
    step = checkpoint["step"]
    assert step >= at_least and step % tiny.steps_per_epoch == 0, log.read_text()[-2000:]
    return step


def test_sigkill_during_checkpoint_writes(zygote, tmp_path, tiny, fmnist_dir):
    run, log = RunDir(tmp_path / "run"), tmp_path / "child.log"

    def config(**overrides):
        resume = run.latest.is_file()
        return tiny.config(run.root, fmnist_dir, epochs=10_000, resume=resume, **overrides)

    # 1. At random moments: whatever the child was doing, latest.pt is a whole checkpoint.
    rng, step = random.Random(5), 0
    for _ in range(6):
        status = zygote.run(config(), log, kill_after=rng.uniform(0.2, 1.5))
        assert killed(status), log.read_text()[-2000:]
        if run.latest.is_file():
            step = check_latest(run, tiny, log, at_least=step)
    assert step > 0  # some saves happened; the next runs resume from there

    # 2. At chosen points of the second save of a run (the first latest.pt write): the kill
    #    keeps the old latest.pt (mid-write, before the rename) or leaves the new one (after).
    for when, latest_moves in (("mid", False), ("before", False), ("after", True)):
        assert killed(zygote.run(config(), log, die_at=[2, when])), log.read_text()[-2000:]
        epoch = step // tiny.steps_per_epoch + 1  # the epoch the child finished, saved first
        assert load_checkpoint(run.epoch_checkpoint(epoch))["step"] == epoch * tiny.steps_per_epoch
        step += tiny.steps_per_epoch * latest_moves
        assert check_latest(run, tiny, log) == step, when

    # 3. --resume goes on to the end, and the run directory holds one whole history.
    final = step + 2 * tiny.steps_per_epoch
    assert zygote.run(config(max_steps=final), log) == 0, log.read_text()[-2000:]
    assert check_latest(run, tiny, log) == final
    assert [row["step"] for row in run.read_metrics()] == list(range(1, final + 1))
    assert not [p.name for p in run.checkpoints.iterdir() if p.name.startswith(".")]
    assert json.loads(run.config.read_text())["max_steps"] == final
