"""`python -m train.report`: write RUN_DIR/REPORT.md from the run's files, and only from them.

Inputs: config.json, metrics.jsonl, eval.json, loss_curves.png, samples/epoch_*.png, pairs.png,
and docs/published_fid.json (published Fashion-MNIST FIDs with their sources). A missing input,
or an eval.json older than the training it describes, is an error naming the file: the report
never shows numbers that are not in those files.

    python -m train.report --run-dir runs/fmnist-cgan                      # RUN_DIR/REPORT.md
    python -m train.report --run-dir runs/fmnist-cgan --out docs/report.md --figures-dir docs/figures
"""
import json
import math
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


from train.command import run_command
from train.errors import ReportError, TrainError
from train.gan.config import as_flags, non_default_values, TrainConfig
from train.run.atomic import write_text_atomic
from train.run.metrics_log import domain_rows, read_rows, STATISTICS, step_rows, training_minutes
from train.run.rundir import DEFAULT_RUN_DIR, RunDir

PUBLISHED_FID = Path(__file__).resolve().parent.parent / "docs" / "published_fid.json"


@dataclass
class ReportConfig:
    run_dir: Path = field(default=DEFAULT_RUN_DIR, metadata={
        "help": "run directory with config.json, metrics.jsonl, eval.json and the figures"})
    out: Optional[Path] = field(default=None, metadata={
        "help": "where to write the report (default RUN_DIR/REPORT.md)"})
    figures_dir: Optional[Path] = field(default=None, metadata={
        "help": "copy the figures here and link them from the report (for a report outside the "
                "run dir, e.g. --out docs/report.md --figures-dir docs/figures)"})
    published: Path = field(default=PUBLISHED_FID, metadata={
        "help": "published Fashion-MNIST FIDs with their sources, shown beside ours"})


@dataclass
class ReportInputs:
    config: dict
    rows: list
    evaluation: dict
    sample_grids: list  # paths relative to the run dir, in epoch order
    published: dict


def _read_json(path: Path):
    if not path.is_file():
        raise ReportError(f"missing input {path}")
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise ReportError(f"{path} is not valid JSON: {e}") from e


def _read_rows(path: Path) -> list:
    if not path.is_file():
        raise ReportError(f"missing input {path}")
    try:
        rows = read_rows(path)
    except TrainError as e:
        raise ReportError(str(e)) from e
    if not rows:
        raise ReportError(f"{path} is empty: train first")
    return rows


def load_inputs(run_dir: Path, published: Path = PUBLISHED_FID) -> ReportInputs:
    """Read every input, failing on the first missing or stale one."""
    run = RunDir(run_dir)
    for figure in (run.loss_curves, run.pairs):
        if not figure.is_file():
            raise ReportError(f"missing input {figure}")
    grids = sorted(run.samples.glob("epoch_*.png")) if run.samples.is_dir() else []
    if not grids:
        raise ReportError(f"missing input {run.samples / 'epoch_*.png'}")
    inputs = ReportInputs(_read_json(run.config), _read_rows(run.metrics),
                          _read_json(run.root / "eval.json"),
                          [g.relative_to(run.root).as_posix() for g in grids],
                          _read_json(Path(published)))
    last_step = max(r["step"] for r in inputs.rows)
    if inputs.evaluation.get("step", -1) < last_step:
        raise ReportError(f"{run.root / 'eval.json'} is for step {inputs.evaluation.get('step')} "
                          f"but {run.metrics} reaches step {last_step}: rerun python -m train.evaluate")
    return inputs


def epoch_means(rows: list) -> list[dict]:
    """One row per epoch: the mean of each logged statistic over that epoch's rows."""
    by_epoch = {}
    for row in rows:
        by_epoch.setdefault(row["epoch"], []).append(row)
    return [{"epoch": epoch, "last_step": max(r["step"] for r in group),
             **{k: sum(r[k] for r in group) / len(group) for k in STATISTICS if k in group[0]}}
            for epoch, group in sorted(by_epoch.items())]


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(header: list, rows: list) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]


def training_section(config: dict, rows: list) -> list[str]:
    rows = step_rows(rows)
    keys = ("generator", "loss", "spectral_norm", "ema", "unconditional", "epochs", "max_steps", "batch_size",
            "latent_dim", "width", "lr_g", "lr_d", "beta1", "beta2", "class_weight", "seed")
    out = ["## Training", "", *table(["setting", "value"], [[k, str(config.get(k))] for k in keys]), "",
           f"{len(rows)} logged steps, last step {max(r['step'] for r in rows)} "
           "(source: config.json, metrics.jsonl). Per-epoch means:", ""]
    epochs = epoch_means(rows)
    keys = [k for k in STATISTICS if k in epochs[0]]
    out += table(["epoch", "last step", *keys], [[e["epoch"], e["last_step"], *(e[k] for k in keys)]
                                                 for e in epochs])
    return out + ["", "`d_accuracy` is the discriminator's real-vs-generated accuracy on each "
                      "training batch (before its update); `d_real`, `d_fake` its mean sigmoid output.",
                  "", "![loss curves](loss_curves.png)", ""]


def domain_history_section(rows: list, batch_size: int) -> list[str]:
    """The domain FID logged during training (train/gan/monitor.py), when metrics.jsonl has it,
    against the training minutes spent to reach it."""
    logged, minutes = domain_rows(rows), training_minutes(rows, batch_size)
    out = ["## Domain FID during training", ""]
    if not logged:
        return out + ["metrics.jsonl has no `domain_fid` rows (training logs one every "
                      "`--domain-fid-every` epochs when the classifier is there; "
                      "`python -m train.domain_fid --run-dir RUN_DIR` adds them from the epoch "
                      "checkpoints).", ""]
    out += table(["epoch", "step", "training minutes", "domain FID", "generated images"],
                 [[r["epoch"], r["step"], f"{minutes[r['step']]:.1f}" if r["step"] in minutes else None,
                   round(r["domain_fid"], 3), r["domain_fid_samples"]] for r in logged])
    backfilled = sorted({r["epoch"] for r in logged if "domain_fid_from" in r})
    epochs = (f"{backfilled[0]}–{backfilled[-1]}" if len(backfilled) > 2 and backfilled == list(
        range(backfilled[0], backfilled[-1] + 1)) else ", ".join(map(str, backfilled)))
    how = (f" The rows of epoch(s) {epochs} were computed after "
           "training from checkpoints/epoch_NNN.pt by `python -m train.domain_fid` (the same "
           "measurement)."
           if backfilled else "")
    return out + ["", "FID in the feature space of the project's FashionMNIST classifier, generated "
                      "images (balanced classes, the same noise every time) vs the 10,000 test "
                      "images; lower is closer. Source: the `domain_fid` rows of metrics.jsonl."
                  + how, ""]


def figures_section(grids: list) -> list[str]:
    shown = sorted({grids[0], grids[len(grids) // 2], grids[-1]}, key=grids.index)
    out = ["## Samples", "", "Fixed noise, one row per class, over training "
           f"({len(grids)} grid(s); first, middle and last shown):", ""]
    out += [f"![{Path(g).stem}]({g})" for g in shown]
    return out + ["", "Generated (left) beside a real image (right) of each class:", "",
                  "![generated vs real](pairs.png)", ""]


def accuracy_table(acc: dict, class_names: list) -> list[str]:
    rows = [["all", acc["accuracy"], acc["real_accuracy"], acc["generated_accuracy"],
             acc["n_real"], acc["n_generated"]]]
    for name in class_names:
        c = acc["per_class"][name]
        rows.append([name, c["accuracy"], c["real"], c["generated"], c["n_real"], c["n_generated"]])
    return table(["class", "accuracy", "on real", "on generated", "n real", "n generated"], rows)


def confusion_table(acc: dict) -> list[str]:
    matrix = acc["confusion_matrix"]
    labels = matrix["labels"]
    return table(["true \\ predicted", *labels], [[labels[i], *row] for i, row in enumerate(matrix["matrix"])])


def discriminator_section(evaluation: dict) -> list[str]:
    acc, names = evaluation["discriminator_accuracy"], evaluation["class_names"]
    torch_acc = acc["pytorch"]
    out = ["## Discriminator: real vs generated", "",
           f"{torch_acc['n_generated']} generated images (balanced classes) and "
           f"{torch_acc['n_real']} real images ({acc['real_images']}, seed {acc['seed']}); "
           "a logit ≥ 0 counts as \"real\". PyTorch (checkpoint):", "",
           *accuracy_table(torch_acc, names), "", "Confusion matrix (PyTorch):", "",
           *confusion_table(torch_acc), ""]
    if "onnx" in acc:
        agree = acc["agreement"]
        out += [f"Exported ONNX model `{acc['onnx_model']['path']}` through the detector package: "
                f"accuracy {_fmt(acc['onnx']['accuracy'])} (real {_fmt(acc['onnx']['real_accuracy'])}, "
                f"generated {_fmt(acc['onnx']['generated_accuracy'])}); max |Δ logit| vs PyTorch "
                f"{agree['max_abs_logit_difference']:.2e} (tolerance {agree['tolerance']:.0e}), "
                f"labels agree on {agree['label_agreement']:.1%}.", ""]
    else:
        out += [f"ONNX check: {acc['onnx_note']}.", ""]
    return out


def published_table(published: dict) -> list[str]:
    """Published FIDs beside ours, each with its source and protocol (docs/published_fid.json)."""
    try:
        sources, entries = published["sources"], published["entries"]
        rows = [[e["model"], f"{e['fid']} ± {e['plus_minus']}" if e.get("plus_minus") is not None
                 else str(e["fid"]), f"[{e['source']}]"] for e in entries]
        notes = [f"- [{key}] {src['citation']}, <{src['url']}>. Protocol: {src['protocol']}."
                 + (f" Read in: {src['read_in']}" if src.get("read_in") else "")
                 for key, src in sources.items()]
    except (KeyError, TypeError) as e:
        raise ReportError(f"published FID file lacks a field: {e}") from e
    title = published.get("title", "Published FIDs")
    caveat = f"**{published['caveat']}**" if published.get("caveat") else ""
    return [f"### {title}", "", *table(["model", "FID", "source"], rows), "", *notes, "", caveat, ""]


LUCIC_PROTOCOL = 10_000  # generated (balanced classes) and real test images, as Lucic et al. 2018


def protocol_note(fid: dict) -> str:
    """Whether the FID was measured as the published figures below were."""
    if fid["n_generated"] == fid["n_real"] == LUCIC_PROTOCOL and fid.get("real_split") == "test":
        return ("Measured on the published protocol (Lucic et al. 2018): 10,000 generated images, "
                "1,000 per class, against the 10,000 test images, so it can be set beside the table "
                "below.")
    return ("Not the published protocol (10,000 generated vs the 10,000 test images): FID grows "
            "when fewer samples are used, so compare it only with figures of the same sizes.")


def fid_section(evaluation: dict, published: dict) -> list[str]:
    fid = evaluation["fid"]
    out = ["## FID", ""]
    if "fid" in fid:
        out += table(["metric", "value", "generated", "real (test split)"],
                     [["Inception FID", f"{fid['fid']:.2f}", fid["n_generated"], fid["n_real"]]])
        out += ["", f"Features: {fid['features']}. {protocol_note(fid)}"]
    else:
        out += [f"Not computed: {fid['skipped']}."]
    return out + [""] + published_table(published)


def domain_section(evaluation: dict) -> list[str]:
    dom = evaluation.get("domain")
    if dom is None:
        raise ReportError("eval.json has no 'domain' section: rerun python -m train.evaluate")
    out = ["## Fast metrics in a FashionMNIST classifier's feature space", ""]
    if "fid" not in dom:
        return out + [f"Not computed: {dom['skipped']}.", ""]
    sizes = f"{dom['n_generated']} generated vs {dom['n_real']} {dom['real_split']}"
    out += table(["metric", "value", "samples"], [
        ["FID (classifier features)", round(dom["fid"], 3), sizes],
        ["FID train vs test (the floor)", round(dom["fid_train_vs_test"], 3),
         f"{dom['n_real']} train vs {dom['n_real']} test"],
        [f"precision (k={dom['k']})", dom["precision"], sizes],
        [f"recall (k={dom['k']})", dom["recall"], sizes],
        ["generated images classified as their class", dom["class_accuracy"]["overall"],
         f"{dom['n_generated']} generated"]])
    per_class = dom["class_accuracy"]["per_class"]
    out += ["", f"Classifier `{dom['classifier']['path']}`, test accuracy "
                f"{_fmt(dom['classifier']['test_accuracy'])}. Per class:", ""]
    out += table(["class", "FID (classifier features)", "classified as this class"],
                 [[name, None if fid is None else round(fid, 3), per_class[name]]
                  for name, fid in dom["fid_per_class"].items()])
    return out + [""]


EVALUATE_FLAGS = ("run_dir", "model", "accuracy_samples", "fid_samples", "fid_real_samples",
                  "domain_samples", "seed")


def evaluate_command(evaluation: dict) -> str:
    """The `python -m train.evaluate` command line that wrote eval.json (from its config)."""
    config = evaluation.get("config", {})
    flags = [f"--{k.replace('_', '-')} {config[k]}" for k in EVALUATE_FLAGS if config.get(k) is not None]
    return " ".join(["python -m train.evaluate", *flags])


# Fields that say where a run's files were on its machine, not how it trained.
MACHINE_FIELDS = ("data_dir", "domain_fid_classifier", "progress", "resume")


def train_command(config: dict) -> str:
    """`python -m train` with the flags whose values differ from today's defaults."""
    changed = non_default_values(TrainConfig.from_json(config))
    return " ".join(["python -m train", *as_flags({k: v for k, v in changed.items() if k not in MACHINE_FIELDS})])


def commands(inputs: ReportInputs, report_command: str) -> list[str]:
    """The commands that wrote the inputs, in order, as far as the inputs record them."""
    run_dir = inputs.config.get("run_dir", "RUN_DIR")
    out = [train_command(inputs.config)]
    backfilled = [r["epoch"] for r in domain_rows(inputs.rows) if "domain_fid_from" in r]
    if backfilled:
        out.append(f"python -m train.domain_fid --run-dir {run_dir} --every {math.gcd(*backfilled)}")
    onnx_model = inputs.evaluation["discriminator_accuracy"].get("onnx_model")
    if onnx_model:  # export into the folder the evaluation read the model from
        out.append(f"python -m export --run-dir {run_dir} --out {Path(onnx_model['path']).parent}")
    return out + [evaluate_command(inputs.evaluation), report_command]


def render(inputs: ReportInputs, report_command: str = "python -m train.report") -> str:
    evaluation = inputs.evaluation
    head = [f"# Report: {inputs.config.get('run_dir', '')}", "",
            f"Checkpoint step {evaluation['step']}, evaluated {evaluation['date']} on "
            f"{evaluation['device']}. Every number below is read from the run's config.json, "
            "metrics.jsonl and eval.json, written by:", "", "```",
            *commands(inputs, report_command), "```", ""]
    batch_size = inputs.config.get("batch_size", TrainConfig.batch_size)
    body = (training_section(inputs.config, inputs.rows) + domain_history_section(inputs.rows, batch_size)
            + figures_section(inputs.sample_grids) + discriminator_section(evaluation)
            + fid_section(evaluation, inputs.published) + domain_section(evaluation))
    return "\n".join(head + body)


def relink_figures(text: str, run_dir: Path, out: Path, figures_dir: Path) -> str:
    """Copy every image the report links (paths relative to the run dir) into figures_dir and
    point the links there, relative to the report's own folder."""
    def move(match) -> str:
        source = Path(run_dir) / match[2]
        target = Path(figures_dir) / match[2].replace("/", "_")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return f"![{match[1]}]({Path(os.path.relpath(target, out.parent)).as_posix()})"
    return re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", move, text)


def write_report(config: ReportConfig) -> Path:
    """Render RUN_DIR/REPORT.md (or config.out) atomically; returns its path."""
    out = Path(config.out or Path(config.run_dir) / "REPORT.md")
    command = " ".join(["python -m train.report --run-dir", str(config.run_dir)]
                       + ([f"--out {config.out}"] if config.out else [])
                       + ([f"--figures-dir {config.figures_dir}"] if config.figures_dir else []))
    text = render(load_inputs(config.run_dir, config.published), command)
    if config.figures_dir is not None:
        text = relink_figures(text, config.run_dir, out, config.figures_dir)
    write_text_atomic(out, text)
    return out


def main(argv=None) -> int:
    return run_command(
        ReportConfig, argv, module="train.report", action=write_report,
        description="Write RUN_DIR/REPORT.md from the run's metrics and figures.",
        describe=lambda config, path: f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
