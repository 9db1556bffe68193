"""Which training recipe gets furthest in the same CPU time: each change of the default recipe
alone on the old one (DCGAN_RECIPE), and all together, trained on the real FashionMNIST.

    python bench/ablation.py [--minutes 4] [--study recipe|loss] [--seeds 0] [--inception-samples 0]
                             [--out runs/ablation] [--json docs/ablation_recipe.json]
                             [--doc docs/recipe.md]

Studies: "recipe" (old default, old + each change in RECIPE_CHANGES, all together, the default)
and "loss" (the old recipe with ns, hinge and wgan-gp with 5 critic steps).
A wall-clock budget is unfair on a shared machine (a job that starts beside one run slows it
alone), so the budget is turned into steps: the rows' step speeds are first measured side by
side (bench/train_speed.py), then each run trains `minutes x images/s / batch` steps with
`--max-steps`, reproducible anywhere from the step counts the JSON keeps. `--more-seeds` adds
runs of other seeds to an earlier table at that table's speeds (the same steps per row), so seeds
compare at equal compute. Each run is then
measured by `python -m train.evaluate`: the domain FID, precision and recall of 10,000 generated
images in the FashionMNIST classifier's features, and with --inception-samples N the Inception
FID of N generated images against the 10,000 test images (~0.1-0.2 s per image on this CPU).
With --doc, the table goes into that Markdown file between `<!-- ablation STUDY -->` (or
--doc-marker's name) and
`<!-- /ablation -->`, each figure a span citing the JSON (`python -m train.doc_numbers` checks them).
"""
import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))
from train_speed import side_by_side_rates  # noqa: E402

from train.gan.config import as_flags, DCGAN_RECIPE, DEFAULT_CHANGES, RECIPE_CHANGES, TrainConfig  # noqa: E402
from train.doc_numbers import replace_block, span  # noqa: E402
from train.gan.runtime import usable_cpus  # noqa: E402
from train.run.atomic import write_text_atomic  # noqa: E402

def recipe_rows() -> dict:
    """{row name: TrainConfig values}: the old default, each change alone, all together, and the
    default (the old one with DEFAULT_CHANGES; last, so that the earlier rows keep their run folders)."""
    together = {k: v for change in RECIPE_CHANGES.values() for k, v in change.items()}
    default = {k: v for name in DEFAULT_CHANGES for k, v in RECIPE_CHANGES[name].items()}
    return {"old default": {}, **{f"old + {name}": change for name, change in RECIPE_CHANGES.items()},
            "all changes": together, f"the default ({' + '.join(DEFAULT_CHANGES)})": default}


def loss_rows() -> dict:
    return {"ns": {"loss": "ns"}, "hinge": {"loss": "hinge"},
            "wgan-gp, 5 critic steps": {"loss": "wgan-gp", "critic_steps": 5}}


STUDIES = {"recipe": recipe_rows, "loss": loss_rows}


def row_config(values: dict) -> dict:
    """The full TrainConfig values of a row: the old recipe (less its epochs), then the row's."""
    return {k: v for k, v in {**DCGAN_RECIPE, **values}.items() if k != "epochs"}


def train_and_evaluate(run_dir: Path, values: dict, seed: int, steps: int, inception: int) -> dict:
    """Train one row for `steps` steps in a fresh process, evaluate it; returns its eval.json."""
    python = [sys.executable, "-m"]
    subprocess.run(python + ["train", "--run-dir", str(run_dir), "--device", "cpu", "--seed", str(seed),
                             "--max-steps", str(steps), "--epochs", "1000", "--no-progress",
                             "--domain-fid-every", "0", *as_flags(values)],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(python + ["train.evaluate", "--run-dir", str(run_dir), "--device", "cpu",
                             "--fid-samples", str(inception), "--no-progress"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return json.loads((run_dir / "eval.json").read_text())


def result_row(name: str, values: dict, seed: int, rate: float, steps: int, evaluation: dict) -> dict:
    domain, fid = evaluation["domain"], evaluation["fid"]
    return {"row": name, "flags": " ".join(as_flags(values)), "seed": seed, "images_per_s": rate,
            "steps": steps, "epochs": steps * TrainConfig.batch_size / 60000,
            "domain_fid": domain["fid"], "precision": domain["precision"], "recall": domain["recall"],
            "inception_fid": fid.get("fid"), "inception_samples": fid.get("n_generated")}


COLUMNS = (("images/s", "images_per_s", ",.0f"), ("steps", "steps", ",d"),
           ("epochs", "epochs", ".1f"), ("domain FID", "domain_fid", ".2f"),
           ("precision", "precision", ".3f"), ("recall", "recall", ".3f"),
           ("Inception FID", "inception_fid", ".1f"))


def with_run_inception(row: dict, run_dir: Path) -> dict:
    """`row` with the Inception FID of its run's eval.json, when that has one."""
    path = run_dir / "eval.json"
    fid = json.loads(path.read_text()).get("fid", {}) if path.is_file() else {}
    if fid.get("fid") is None:
        return row
    return {**row, "inception_fid": fid["fid"], "inception_samples": fid["n_generated"]}


def rows_and_rates(study: str, names: list, earlier: dict) -> tuple[dict, dict]:
    """The study's rows to train ({name: TrainConfig values}: `names`, by default all, or those of
    the `earlier` table) and their images/s: the earlier table's, else measured side by side now."""
    names = names or (list(dict.fromkeys(row["row"] for row in earlier["rows"])) if earlier else None)
    rows = {name: row_config(values) for name, values in STUDIES[study]().items() if not names or name in names}
    if names and len(rows) != len(names):
        sys.exit(f"bench/ablation.py: --rows: the {study} study has rows {list(STUDIES[study]())}")
    if earlier:
        return rows, earlier_rates(earlier["rows"], rows)
    return rows, side_by_side_rates(torch.device("cpu"), {n: TrainConfig(**v) for n, v in rows.items()},
                                    steps=30, warmup=5, rounds=3)


def earlier_table(path: Path, seeds: list) -> dict:
    """The table --more-seeds adds to, refusing seeds it already has (their runs would be overwritten)."""
    if path is None or not path.is_file():
        sys.exit(f"bench/ablation.py: --more-seeds needs the earlier table as --json, got {path}")
    table = json.loads(path.read_text())
    taken = sorted(set(seeds) & {row["seed"] for row in table["rows"]})
    if taken:
        sys.exit(f"bench/ablation.py: --more-seeds: {path} already has seed(s) {taken}")
    return table


def earlier_rates(results: list, rows: dict) -> dict:
    """{row name: images/s} of an earlier table's rows, so that new seeds train the same steps."""
    rates = {row["row"]: row["images_per_s"] for row in results}
    missing = [name for name in rows if name not in rates]
    if missing:
        sys.exit(f"bench/ablation.py: --more-seeds: the earlier table has no rows {missing}; pass --rows")
    return {name: rates[name] for name in rows}


def markdown_table(json_path: str, results: list) -> list[str]:
    """The rows as a Markdown table whose figures cite `json_path` (doc_numbers spans)."""
    lines = ["| row | seed | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---|---:|" + "---:|" * len(COLUMNS)]
    for i, row in enumerate(results):
        cells = [span(json_path, f"rows.{i}.{key}", row[key], spec) if row[key] is not None else "–"
                 for _, key, spec in COLUMNS]
        lines.append(f"| {row['row']} | {row['seed']} | " + " | ".join(cells) + " |")
    return lines


def seed_summary(results: list) -> list[dict]:
    """Per row with more than one seed: the seeds and the mean, lowest and highest domain FID
    and the mean recall, so that a gap between rows can be set beside the spread within one."""
    summary = []
    for name in dict.fromkeys(row["row"] for row in results):
        runs = [row for row in results if row["row"] == name]
        if len(runs) > 1:
            fids = [row["domain_fid"] for row in runs]
            summary.append({"row": name, "seeds": [row["seed"] for row in runs],
                            "domain_fid_mean": float(np.mean(fids)), "domain_fid_min": min(fids),
                            "domain_fid_max": max(fids),
                            "recall_mean": float(np.mean([row["recall"] for row in runs]))})
    return summary


def summary_table(json_path: str, summary: list) -> list[str]:
    """The seed summary as a Markdown table citing `json_path` (none when no row has two seeds)."""
    if not summary:
        return []
    lines = ["", "| row | seeds | domain FID, mean | lowest | highest | recall, mean |",
             "|---|---|---:|---:|---:|---:|"]
    keys = (("domain_fid_mean", ".2f"), ("domain_fid_min", ".2f"), ("domain_fid_max", ".2f"), ("recall_mean", ".3f"))
    for i, row in enumerate(summary):
        cells = [span(json_path, f"by_row.{i}.{key}", row[key], spec) for key, spec in keys]
        lines.append(f"| {row['row']} | {', '.join(map(str, row['seeds']))} | " + " | ".join(cells) + " |")
    return lines


def fid_agreement(results: list) -> dict:
    """Of the pairs of rows that have both FIDs, how many the domain FID and the Inception FID
    order alike: whether the fast FID can stand in for the published one."""
    rows = [row for row in results if row["inception_fid"] is not None]
    pairs = list(itertools.combinations(rows, 2))
    alike = sum((a["domain_fid"] < b["domain_fid"]) == (a["inception_fid"] < b["inception_fid"]) for a, b in pairs)
    return {"rows": len(rows), "pairs": len(pairs), "ordered_alike": alike}


def write_json(path: Path, table: dict) -> None:
    """The table's JSON, with its seed summary (by_row) and FID agreement brought up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    derived = {"by_row": seed_summary(table["rows"]), "fid_agreement": fid_agreement(table["rows"])}
    write_text_atomic(path, json.dumps({**table, **derived}, indent=2) + "\n")


def write_doc_table(doc: Path, marker: str, json_path: Path, results: list) -> None:
    """Replace the lines between `<!-- ablation MARKER -->` and `<!-- /ablation -->` in `doc`."""
    source = json_path.resolve().relative_to(REPO).as_posix()
    table = markdown_table(source, results) + summary_table(source, seed_summary(results))
    replace_block(doc, f"<!-- ablation {marker} -->", "<!-- /ablation -->", table)


def run_folder(args, index: int, seed: int) -> Path:
    """OUT/STUDY/INDEX-seedSEED: the run of the INDEX-th row trained with SEED."""
    return args.out / args.study / f"{index}-seed{seed}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", choices=sorted(STUDIES), default="recipe")
    parser.add_argument("--minutes", type=float, default=4.0, help="CPU minutes of each row")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per row and seed")
    parser.add_argument("--rows", nargs="+", help="only these rows of the study (default: all)")
    parser.add_argument("--inception-samples", type=int, default=0,
                        help="generated images for each row's Inception FID (0 skips it)")
    parser.add_argument("--out", type=Path, default=REPO / "runs/ablation", help="folder for the runs")
    parser.add_argument("--json", type=Path, help="write the rows here (default: OUT/STUDY.json)")
    parser.add_argument("--doc", type=Path, help="put the table into this Markdown file (see above)")
    parser.add_argument("--doc-marker", help="the table's marker in --doc (default: the study's name)")
    parser.add_argument("--table-only", action="store_true",
                        help="train nothing: put --json's rows into --doc")
    parser.add_argument("--more-seeds", action="store_true",
                        help="add runs of --seeds to --json's rows (by default of each row there), at their "
                             "images/s and minutes")
    parser.add_argument("--inception-from-runs", action="store_true",
                        help="with --table-only: first take each row's Inception FID from its run's eval.json "
                             "(OUT/STUDY/INDEX-seedSEED, measured later with python -m train.evaluate) into --json")
    return parser.parse_args()


def rebuild_table(args: argparse.Namespace) -> None:
    """--table-only: --json's rows (with --inception-from-runs, each run's Inception FID) into --doc."""
    table = json.loads(args.json.read_text())
    if args.inception_from_runs:
        seen = [row["seed"] for row in table["rows"]]  # run INDEX counts the rows of its seed
        table["rows"] = [with_run_inception(row, run_folder(args, seen[:i].count(row["seed"]), row["seed"]))
                         for i, row in enumerate(table["rows"])]
    write_json(args.json, table)
    write_doc_table(args.doc, args.doc_marker or args.study, args.json, table["rows"])


def run_study(args: argparse.Namespace) -> None:
    """Train and evaluate every row for every seed, rewriting the JSON after each run."""
    torch.set_num_threads(usable_cpus())
    earlier = earlier_table(args.json, args.seeds) if args.more_seeds else None
    rows, rates = rows_and_rates(args.study, args.rows, earlier)
    results = list(earlier["rows"]) if earlier else []
    args.minutes = earlier["minutes"] if earlier else args.minutes
    print(f"{args.minutes:g} CPU minutes per row ({usable_cpus()} threads); lower FID is better")
    print(f"{'row':<28} {'seed':>4} {'img/s':>6} {'steps':>6} {'domain FID':>10} {'prec':>5} "
          f"{'recall':>6} {'Inception':>9}")
    path = args.json or args.out / args.study / f"{args.study}.json"
    for seed in args.seeds:
        for index, (name, values) in enumerate(rows.items()):
            steps = max(1, int(args.minutes * 60 * rates[name] / TrainConfig.batch_size))
            evaluation = train_and_evaluate(run_folder(args, index, seed), values, seed, steps,
                                            args.inception_samples)
            row = result_row(name, values, seed, rates[name], steps, evaluation)
            results.append(row)
            inception = "-" if row["inception_fid"] is None else f"{row['inception_fid']:.1f}"
            print(f"{name:<28} {seed:>4} {rates[name]:>6.0f} {steps:>6} {row['domain_fid']:>10.2f} "
                  f"{row['precision']:>5.2f} {row['recall']:>6.2f} {inception:>9}", flush=True)
            write_json(path, {"study": args.study, "minutes": args.minutes, "threads": usable_cpus(),
                              "rows": results})
    if args.doc:
        write_doc_table(args.doc, args.doc_marker or args.study, path, results)


def main() -> None:
    args = parse_args()
    if args.table_only:
        rebuild_table(args)
    else:
        run_study(args)


if __name__ == "__main__":
    main()
