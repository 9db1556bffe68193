"""What the zero-shot candidates and the detector's parts catch alone, on strong strangers, weak
ones and damaged real images.

    python bench/zero_shot.py [--strangers runs/recipe-seed1 ...] [--zoo runs/zoo] [--per-set 2000]
                              [--json docs/zero_shot.json] [--doc docs/detector.md] [--figure F.png]

Every zero-shot candidate is fitted on real training-split images only (`real_split`, as
`python -m train.detector` splits them), so no generator teaches it anything; the shipped
detector's learnt parts are read from its graph (train/detection/strangers.py `part_outputs`):

    brightest_level   the shipped zero-shot part (train/detection/zero_shot.py): generated when
                      the brightest pixel is below the format's floor 254 without a JPEG trace, or
                      below the cut set on JPEG-75 copies of held-out real images
    brightest_cut     that cut alone (no JPEG trace): what the trace adds
    brightest_strict  the floor alone (every FashionMNIST image reaches 254 or 255): what sparing
                      re-saved real images costs
    coding_gap        ZED's statistic (Cozzolino et al., ECCV 2024) with a classical lossless coder:
                      each pixel's level predicted from its four causal neighbours (W, N, NW, NE,
                      each quantised to 9 bins finer near black) by counts over real images; per
                      image the mean of (coding cost - entropy of the prediction), in bits per
                      pixel, cut two-sided at 1 % of held-out real images
    coding_cost       the coding cost alone (the likelihood; Ren et al. 2019: dominated by the background)
    fingerprint       the shipped detector's fingerprint CNN alone (learnt from the zoo: not zero-shot)
    top_levels        the shipped detector's top-levels part alone (learnt from the shipped
                      generator: not zero-shot; train/detection/top_levels.py)
    detector          models/detector.onnx as shipped (all its parts)

Rows: real test images, the sanity battery's sets, the shipped generator (models/generator.onnx),
the epoch snapshots of each --strangers run (runs the detector never saw; their domain FID from
the run's metrics.jsonl: the strength axis of the figure), and with --zoo each family's final
generators. Cells: the fraction called generated; the JSON also has each candidate's AUC
against the real test images.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from train.data import CLASS_NAMES, load_fashion_mnist, to_model_range  # noqa: E402
from train.detection.calibration import roc_auc  # noqa: E402
from train.detection.config import DetectorConfig  # noqa: E402
from train.detection.evaluate import MODELS  # noqa: E402
from train.detection.fit import fit_zero_shot, FitData, real_split  # noqa: E402
from train.detection.sanity import make_battery  # noqa: E402
from train.detection.strangers import part_outputs  # noqa: E402
from train.detection.zero_shot import brightest_levels  # noqa: E402
from train.detection.zoo import families, sample_zoo, zoo_generators  # noqa: E402
from train.doc_numbers import replace_block, span  # noqa: E402
from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint  # noqa: E402
from train.gan.sampling import balanced_labels, generated_images, sample_images  # noqa: E402
from train.run.atomic import write_text_atomic  # noqa: E402
from train.run.metrics_log import read_rows, training_minutes  # noqa: E402

CANDIDATES = ("brightest_level", "brightest_cut", "brightest_strict", "coding_gap", "coding_cost", "fingerprint",
              "top_levels", "detector")
SHIPPED_PARTS = ("fingerprint", "top_levels")  # the shipped detector's learnt parts, read from its graph
NEIGHBOUR_BINS = np.array([1, 3, 7, 15, 31, 63, 127, 191])  # bin edges of a neighbour's level: 9 bins
REAL_FPR = 0.01


class ContextCoder:
    """p(level | quantised W, N, NW, NE) from counts over real uint8 images [N, 28, 28]."""

    def __init__(self, real: np.ndarray, prior: float = 0.05):
        bins = len(NEIGHBOUR_BINS) + 1
        counts = np.bincount((self.contexts(real) * 256 + real).ravel(), minlength=bins ** 4 * 256)
        counts = counts.reshape(bins ** 4, 256) + prior
        p = counts / counts.sum(1, keepdims=True)
        self.log_p, self.entropy = np.log2(p), -(p * np.log2(p)).sum(1)

    @staticmethod
    def contexts(images: np.ndarray) -> np.ndarray:
        x = np.pad(images.astype(np.int64), ((0, 0), (1, 0), (1, 1)))   # zeros above, left and right
        q = np.searchsorted(NEIGHBOUR_BINS, x, side="right")
        w, n, nw, ne = q[:, 1:, :-2], q[:, :-1, 1:-1], q[:, :-1, :-2], q[:, :-1, 2:]
        bins = len(NEIGHBOUR_BINS) + 1
        return ((w * bins + n) * bins + nw) * bins + ne

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """[N, 2]: mean coding cost - entropy, and mean coding cost, in bits per pixel."""
        c = self.contexts(images)
        cost = -self.log_p[c, images]
        return np.stack([(cost - self.entropy[c]).mean((1, 2)), cost.mean((1, 2))], 1)


class Candidates:
    """Each candidate fitted on the real training split: called generated where it says so."""

    def __init__(self, config: DetectorConfig):
        real_train, real_calibration = real_split(config)
        self.part, self.about = fit_zero_shot(FitData(real_train, real_calibration, None, None), config)
        self.coder = ContextCoder(real_train)
        held_out = self.coder(real_calibration)
        self.coding_range = np.quantile(held_out, [REAL_FPR / 2, 1 - REAL_FPR / 2], axis=0)  # two-sided
        self.shipped_parts = part_outputs(MODELS / "detector.onnx")

    def part_logits(self, images: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.part(to_model_range(torch.from_numpy(images))).numpy()

    def scores(self, images: np.ndarray) -> dict:
        """{candidate: score [N]}, higher = more generated-looking (for the AUC)."""
        coding = self.coder(images)
        centre = self.coding_range.mean(0)
        shipped = self.shipped_parts(images)
        return {"brightest_level": -self.part_logits(images), "brightest_cut": -brightest_levels(images).astype(float),
                "brightest_strict": -brightest_levels(images).astype(float),
                "coding_gap": np.abs(coding[:, 0] - centre[0]), "coding_cost": np.abs(coding[:, 1] - centre[1]),
                **{part: -shipped[part] for part in SHIPPED_PARTS},
                "detector": -np.min(list(shipped.values()), 0)}  # its real_logit: the minimum of its parts

    def called_generated(self, images: np.ndarray) -> dict:
        coding, levels = self.coder(images), brightest_levels(images)
        lo, hi = self.coding_range
        outside = (coding < lo) | (coding > hi)
        shipped = self.shipped_parts(images)
        return {"brightest_level": self.part_logits(images) < 0, "brightest_cut": levels < self.about["cut"],
                "brightest_strict": levels < self.about["floor"],
                "coding_gap": outside[:, 0], "coding_cost": outside[:, 1],
                **{part: shipped[part] < 0 for part in SHIPPED_PARTS},
                "detector": np.min(list(shipped.values()), 0) < 0}


def snapshot_sets(run_dir: Path, per_set: int, seed: int) -> dict:
    """{"RUN/epoch_NNN": (images, about)} for each epoch snapshot of a run whose domain FID was
    measured (metrics.jsonl), about = its epoch, domain FID and minutes of training steps; the EMA
    generator where the run kept one."""
    rows = read_rows(run_dir / "metrics.jsonl")
    minutes = training_minutes(rows, json.loads((run_dir / "config.json").read_text())["batch_size"])
    fids = {row["epoch"]: (row["domain_fid"], row["step"]) for row in rows if "domain_fid" in row}
    out = {}
    for epoch, (fid, step) in sorted(fids.items()):
        path = run_dir / "checkpoints" / f"epoch_{epoch:03d}.pt"
        if path.is_file():
            generator = generator_from_checkpoint(load_checkpoint(path, map_location="cpu")).eval()
            images = sample_images(generator, balanced_labels(per_set, len(CLASS_NAMES)), seed, torch.device("cpu"))
            about = {"epoch": epoch, "domain_fid": fid, "minutes": minutes.get(step)}
            out[f"{run_dir.name}/epoch_{epoch:03d}"] = (images, about)
    return out


def image_sets(config: DetectorConfig, args) -> dict:
    """{name: (uint8 images, what the row is)}: real test, battery, shipped generator, strangers, zoo."""
    test = load_fashion_mnist("test").images.numpy()
    test = test[np.random.default_rng(config.seed).permutation(len(test))][: args.per_set]
    sets = {"real_test": (test, {"kind": "real"})}
    sets.update({name: (images, {"kind": "battery"}) for name, images in make_battery(test, config.seed).items()
                 if name != "real"})
    shipped = generated_images(MODELS, balanced_labels(args.per_set, len(CLASS_NAMES)), np.random.default_rng(config.seed + 1))
    sets["shipped_generator"] = (shipped, {"kind": "shipped"})
    for run in args.strangers:
        sets.update({k: (v, {"kind": "stranger", **about}) for k, (v, about)
                     in snapshot_sets(Path(run), args.per_set, config.seed + 2).items()})
    if args.zoo:
        generators = zoo_generators(args.zoo)
        for family in families(generators):
            finals = [g for g in generators if g.family == family and g.final]
            sets[family] = (sample_zoo(finals, args.per_set, config.seed + 7919)[0], {"kind": "zoo"})
    return sets


def measure(candidates: Candidates, sets: dict) -> dict:
    real_scores = candidates.scores(sets["real_test"][0])
    rows = {}
    for name, (images, about) in sets.items():
        caught = {k: float(np.mean(v)) for k, v in candidates.called_generated(images).items()}
        # AUC with scores as "logits" of real: -score ranks the generated-looking first
        auc = {k: roc_auc(-real_scores[k], -v) for k, v in candidates.scores(images).items()}
        rows[name] = {**about, "caught": caught, "auc": auc}
    return rows


def summary(rows: dict) -> dict:
    """The stranger's last snapshot measured (the longest trained: the one strong_zoo/ keeps) and
    its row, for the docs' prose."""
    strangers = {k: r for k, r in rows.items() if r["kind"] == "stranger"}
    if not strangers:
        return {}
    last = max(strangers, key=lambda k: strangers[k]["epoch"])
    return {"last_snapshot": last, "last": strangers[last]}


def markdown_table(rows: dict, json_path: str = "") -> list[str]:
    """Fraction called generated per candidate; with `json_path`, every figure a span citing it."""
    def cell(name, candidate):
        value = rows[name]["caught"][candidate]
        return span(json_path, f"rows.{name}.caught.{candidate}", value, ".3f") if json_path else f"{value:.3f}"
    lines = ["| set | domain FID | " + " | ".join(f"`{c}`" for c in CANDIDATES) + " |",
             "|---|---:|" + "---:|" * len(CANDIDATES)]
    for name, row in rows.items():
        fid = row.get("domain_fid")
        fid = "" if fid is None else (span(json_path, f"rows.{name}.domain_fid", fid, ".1f") if json_path else f"{fid:.1f}")
        lines.append(f"| {name} | {fid} | " + " | ".join(cell(name, c) for c in CANDIDATES) + " |")
    return lines


def curve_figure(rows: dict, path: Path) -> None:
    """Caught against the stranger's domain FID, one line per candidate (the strangers' snapshots)."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    points = sorted((r["domain_fid"], r) for r in rows.values() if r["kind"] == "stranger")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for candidate in CANDIDATES:
        ax.plot([f for f, _ in points], [r["caught"][candidate] for _, r in points], "o-", label=candidate)
    ax.set_xscale("log")  # the strong end (FID 5-20) is where detection gives out: give it room
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([5, 10, 20, 50, 100])
    ax.invert_xaxis()
    ax.set_xlabel("stranger's domain FID (stronger to the right)")
    ax.set_ylabel("fraction called generated")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strangers", nargs="*", default=["runs/recipe-seed1"])
    parser.add_argument("--zoo", nargs="*", default=[])
    parser.add_argument("--per-set", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--doc", type=Path, help="with --json: put the table into this Markdown file")
    parser.add_argument("--figure", type=Path, help="the curve of caught against the strangers' FID")
    args = parser.parse_args()
    config = DetectorConfig()
    candidates = Candidates(config)
    rows = measure(candidates, image_sets(config, args))
    print("fraction called generated, each candidate alone")
    print("\n".join(markdown_table(rows)))
    if args.figure:
        curve_figure(rows, args.figure)
    if args.json:
        write_text_atomic(args.json, json.dumps({"per_set": args.per_set, "strangers": args.strangers,
                                                 "zero_shot": candidates.about,
                                                 "candidates": list(CANDIDATES), "summary": summary(rows),
                                                 "rows": rows}, indent=2) + "\n")
        if args.doc:
            source = args.json.resolve().relative_to(REPO).as_posix()
            replace_block(args.doc, "<!-- zero_shot -->", "<!-- /zero_shot -->", markdown_table(rows, source))


if __name__ == "__main__":
    main()
