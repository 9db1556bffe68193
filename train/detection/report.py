"""Write what `python -m train.detector --evaluate` measured: docs/detector.md (tables from the
results, nothing typed in by hand), docs/detector_results.json and two figures beside it (named
after the report: report_files); and the sanity battery's table, which `--sanity` prints too."""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from train.detection.calibration import GOAL_BALANCED_ACCURACY  # noqa: E402
from train.detection.model import PART_NAMES  # noqa: E402
from train.detection.sanity import passed  # noqa: E402
from train.run.atomic import write_text_atomic  # noqa: E402


def reliability_figure(calibration: dict, path: Path) -> None:
    bins = calibration["bins"]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], "o-", label="shipped detector")
    ax.set(xlabel="predicted P(real)", ylabel="fraction real", xlim=(0, 1), ylim=(0, 1),
           title=f"reliability (ECE {calibration['ece']:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def held_out_figure(held_out: dict, path: Path) -> None:
    names = list(held_out)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(names), 3.6))
    ax.bar(x - 0.2, [held_out[n]["balanced_accuracy"] for n in names], 0.4, label="detector (held out)")
    ax.bar(x + 0.2, [held_out[n]["discriminator"]["balanced_accuracy"] for n in names], 0.4, label="GAN discriminator")
    ax.axhline(GOAL_BALANCED_ACCURACY, color="green", linestyle="--", linewidth=1, label=f"goal {GOAL_BALANCED_ACCURACY:g}")
    ax.axhline(0.5, color="grey", linewidth=0.8)
    ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="balanced accuracy", ylim=(0.4, 1.0), title="held-out generator families and runs")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def held_out_table(held_out: dict) -> list[str]:
    """One row a held-out family or run: the detector's figures, each part's AP alone, the discriminator's."""
    parts = [p for p in PART_NAMES if all(f"{p}_average_precision" in r for r in held_out.values())]
    lines = ["| held out | balanced acc. | generated caught | real FPR (test) | AP | "
             + "".join(f"AP {p} only | " for p in parts) + "discriminator bal. acc. | discriminator AP |",
             "|" + "---|" * (7 + len(parts))]
    for name, r in held_out.items():
        d = r["discriminator"]
        accuracy = f"{r['balanced_accuracy']:.3f}"
        accuracy = f"**{accuracy}**" if r["balanced_accuracy"] >= GOAL_BALANCED_ACCURACY else accuracy
        lines.append(f"| {name} | {accuracy} | {r['generated_caught']:.3f} | {r['real_fpr']:.3f} "
                     f"| {r['average_precision']:.3f} | "
                     + "".join(f"{r[p + '_average_precision']:.3f} | " for p in parts)
                     + f"{d['balanced_accuracy']:.3f} | {d['average_precision']:.3f} |")
    return lines


def shipped_lines(shipped: dict) -> list[str]:
    seed = shipped["seed_test"]
    lines = [f"Shipped model `{shipped['model']}`: real false-positive rate on the 10,000 test images "
             f"**{shipped['real_test_fpr']:.4f}**; expected calibration error {shipped['calibration']['ece']:.3f} "
             "(figure below).", "",
             "| seed's test (1k real test + 1k from models/generator.onnx) | accuracy | real kept | generated caught | AP |",
             "|---|---|---|---|---|"]
    for name, s in seed.items():
        lines.append(f"| {name} | {s['balanced_accuracy']:.3f} | {1 - s['real_fpr']:.3f} "
                     f"| {s['generated_caught']:.3f} | {s['average_precision']:.3f} |")
    return lines


def sanity_cell(row: dict) -> str:
    """A model's fraction of a set called real, marked pass/FAIL where the set is checked."""
    return f"{row['called_real']:.3f}" + {True: " pass", False: " **FAIL**", None: ""}[row["passes"]]


def sanity_table(sanity: dict) -> list[str]:
    """The sanity battery (evaluate.sanity's dict) as a Markdown table: one row per set, one column
    per model; the report and `python -m train.detector --sanity` print the same lines."""
    models = sanity["models"]
    lines = [f"Each set is {sanity['images_per_set']:,} images made from real test images (seed {sanity['seed']}); "
             f"a checked set passes when at least {sanity['pass_fraction']:.0%} of its images get the expected "
             f"label at the model's threshold (logit {sanity['threshold']:g}). Cells: the fraction called real.", "",
             "| set | what | expected | " + " | ".join(f"{m}: called real" for m in models) + " |",
             "|" + "---|" * (3 + len(models))]
    for name, s in sanity["sets"].items():
        cells = " | ".join(sanity_cell(models[m]["sets"][name]) for m in models)
        lines.append(f"| {name} | {s['what']} | {s['expected'] or 'report only'} | {cells} |")
    totals = " | ".join("**{} of {}**".format(*passed(models[m]["sets"])) for m in models)
    return lines + [f"| checks passed | | | {totals} |"]


def report_files(report: Path) -> dict:
    """The files written beside `report`, named after it so that two reports (every family, a few)
    can share a folder: docs/detector.md -> docs/detector_results.json, docs/figures/detector_*.png."""
    figures = report.parent / "figures"
    return {"results": report.with_name(f"{report.stem}_results.json"),
            "reliability": figures / f"{report.stem}_reliability.png",
            "held_out": figures / f"{report.stem}_held_out.png"}


def timing(results: dict) -> str:
    """What the measurement cost: the held-out fits in all (each row keeps its own `seconds`, as a
    rerun reuses kept rows) and this run, which may have fitted none of them."""
    fits = sum(row.get("seconds", 0) for row in results["held_out"].values())
    return (f"The {len(results['held_out'])} held-out fits took {fits / 60:.0f} min in all, one process each "
            f"(each row's `seconds`); this run, which fits only the rows not kept from an earlier one, "
            f"took {results['seconds'] / 60:.0f} min.")


def write_report(results: dict, report: Path) -> None:
    files = report_files(report)
    files["held_out"].parent.mkdir(parents=True, exist_ok=True)
    reliability_figure(results["shipped"]["calibration"], files["reliability"])
    held_out_figure(results["held_out"], files["held_out"])
    write_text_atomic(files["results"], json.dumps(results, indent=2) + "\n")
    links = {k: path.relative_to(report.parent).as_posix() for k, path in files.items()}
    intro = (report.read_text().split("<!-- results -->")[0] if report.is_file() else "# The detector\n\n")
    body = ["<!-- results -->", "<!-- Everything below is written by `python -m train.detector --evaluate`; "
            "edit the text above the marker only. -->", "", "## Leave one generator family out", "",
            f"Each row: a detector fitted without that family (fingerprint CNN trained {results['config']['epochs']} "
            f"epochs), tested on the family's final generators and the 10,000 real test images; "
            f"bold: balanced accuracy at or above the {GOAL_BALANCED_ACCURACY} goal.", ""]
    body += held_out_table(results["held_out"])
    body += ["", f"![held-out families]({links['held_out']})", "", "## The shipped detector", ""]
    body += shipped_lines(results["shipped"])
    body += ["", f"![reliability diagram]({links['reliability']})", "", "## The sanity battery", ""]
    body += sanity_table(results["sanity"])
    body += ["", "## The zoo", ""]
    body += [f"- **{family}**: {len(names)} generators ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})"
             for family, names in results["zoo"].items()]
    body += ["", f"{timing(results)} Every figure above is in [{links['results']}]({links['results']})."]
    write_text_atomic(report, intro + "\n".join(body) + "\n")
