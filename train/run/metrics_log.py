"""metrics.jsonl: the run's numbers, one JSON object a line, appended while training runs.

Two kinds of row, told apart by their keys:

    {"step": 40, "epoch": 1, "loss_d": 1.21, "loss_g": 0.93, "d_real": 0.58, "d_fake": 0.41,
     "d_accuracy": 0.71, "class_accuracy": 0.64, "images_per_s": 2210.5}          # a step row
    {"step": 2340, "epoch": 5, "domain_fid": 3.21, "domain_fid_samples": 2000,
     "domain_fid_seconds": 2.1}                                                    # a domain FID row

Every reader and writer of the file goes through this module: a process killed mid-append
leaves a last line cut short, which `read_rows` drops for every reader alike.
"""
import contextlib
import json
from pathlib import Path
from typing import Callable, Iterator

from train.errors import TrainError
from train.run.atomic import write_text_atomic

# What the trainer measures on each step's global batch (averaged over ranks), in this order.
STATISTICS = {
    "loss_d": "the discriminator's loss (--loss, with the class term)",
    "loss_g": "the generator's loss (--loss, with the class term)",
    "d_real": "D(x): mean sigma(real_logit) on the real batch",
    "d_fake": "D(G(z)): mean sigma(real_logit) on the generated batch, before D's update",
    "d_accuracy": "D's real-vs-generated accuracy on the batch (logit > 0 means real)",
    "class_accuracy": "D's class head's accuracy on the real batch",
}
STEP_ROW = {
    "step": "optimisation steps done (a row every --log-every steps)",
    "epoch": "the epoch the step belongs to, from 1",
    **STATISTICS,
    "images_per_s": "training throughput of the step",
}
DOMAIN_FID_ROW = {  # every --domain-fid-every epochs (train/gan/monitor.py), and at the end
    "step": "the generator's step when measured",
    "epoch": "the epoch just finished",
    "domain_fid": "classifier-feature FID of generated images against the test split",
    "domain_fid_samples": "generated images measured",
    "domain_fid_seconds": "time the measurement took",
    "domain_fid_from": "only rows added by python -m train.domain_fid: the checkpoint measured",
}


def step_row(step: int, epoch: int, statistics: dict, images_per_s: float) -> dict:
    return {"step": step, "epoch": epoch, **statistics, "images_per_s": images_per_s}


def domain_rows(rows: list) -> list:
    """The rows that carry a domain FID, in step order."""
    return sorted((r for r in rows if "domain_fid" in r), key=lambda r: r["step"])


def step_rows(rows: list) -> list:
    """The per-step training rows (those with losses), without the domain FID rows."""
    return [r for r in rows if "loss_d" in r]


def training_minutes(rows: list, batch_size: int) -> dict:
    """{step: minutes of optimisation steps up to and including it}, from each logged step's
    images/s (steps only: measuring, saving and drawing between epochs are not counted; with
    --log-every N the unlogged steps are counted at the speed of the next logged one)."""
    minutes, total, previous = {}, 0.0, 0
    for row in step_rows(rows):
        total += (row["step"] - previous) * batch_size / row["images_per_s"] / 60
        minutes[row["step"]], previous = total, row["step"]
    return minutes


def _line(row: dict) -> str:
    return json.dumps(row) + "\n"


@contextlib.contextmanager
def appending(path: Path) -> Iterator[Callable[[dict], None]]:
    """Open `path` for appending; yields `append(row)`."""
    with open(path, "a") as f:
        yield lambda row: f.write(_line(row))


def append_row(path: Path, row: dict) -> None:
    with appending(path) as append:
        append(row)


def write_rows(path: Path, rows: list) -> None:
    """Replace the whole file with `rows`, atomically."""
    write_text_atomic(path, "".join(_line(row) for row in rows))


def read_rows(path: Path) -> list[dict]:
    """The rows of `path` ([] when it does not exist). A last line cut short (the process was
    killed while writing it) is dropped; damage anywhere else is a TrainError naming the line."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text().split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as e:
            if number == len(lines):  # no newline after it: a torn write
                break
            raise TrainError(f"{path}, line {number}: not a JSON row ({e})") from e
    return rows


def truncate_after(path: Path, last_step: int) -> None:
    """Drop the rows of steps after `last_step` (those logged after the checkpoint a run
    resumes from), so that the resumed run's rows continue the curve."""
    write_rows(path, [row for row in read_rows(path) if row["step"] <= last_step])


def epoch_summary(epoch: int, epochs: int, rows: list[dict], seconds: float) -> str:
    """The line printed after an epoch: the mean of its step rows."""
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k not in ("step", "epoch")}
    return (f"epoch {epoch}/{epochs} step {rows[-1]['step']} | loss_d {mean['loss_d']:.3f} "
            f"loss_g {mean['loss_g']:.3f} | D(x) {mean['d_real']:.2f} D(G(z)) {mean['d_fake']:.2f} "
            f"| D acc {mean['d_accuracy']:.2f} class acc {mean['class_accuracy']:.2f} "
            f"| {mean['images_per_s']:.0f} img/s | {seconds:.0f} s")
