"""`python -m train.detector`: fit and export the detector, with --evaluate measure it, with
--sanity print its sanity battery (and the discriminator's), with --shipped measure the shipped
models as they are now into docs/detector_shipped.json, or with --strangers measure the detector
on strong generators (strong_zoo/) into docs/strangers.json."""
import sys

from train.command import run_command
from train.detection.config import DetectorConfig
from train.doc_numbers import look_up, replace_block, span
from train.errors import TrainError


MODES = ("evaluate", "sanity", "shipped", "strangers", "add_zero_shot", "add_top_levels")


def refuse_combinations(config: DetectorConfig) -> None:
    """--evaluate, --sanity, --shipped, --strangers, --add-zero-shot and --add-top-levels are each a run of its own."""
    lone = {"strangers": "it measures --export on --stranger-dirs",
            "add_top_levels": "it writes --export; --shipped measures it after"}
    for mode, why in lone.items():
        if getattr(config, mode) and any(getattr(config, other) for other in MODES if other != mode):
            raise TrainError(f"--{mode.replace('_', '-')} is a run of its own ({why})")
    if config.add_zero_shot and (config.evaluate or config.sanity or config.shipped):
        raise TrainError("--add-zero-shot is a run of its own (it writes --export; --shipped measures it after)")
    if config.sanity and config.evaluate:
        raise TrainError("--sanity and --evaluate are separate runs (--evaluate includes the battery)")
    if config.shipped and (config.evaluate or config.sanity):
        other = "--evaluate" if config.evaluate else "--sanity"
        raise TrainError(f"--shipped and {other} are separate runs (--shipped measures the shipped models alone, "
                         "the sanity battery included)")


def strangers_table(results: dict, json_path: str) -> list[str]:
    """One row a stranger: the detector's balanced accuracy, caught and AP at logit 0, and each
    part's caught (AP); every figure a span citing `json_path`."""
    from train.detection.model import PART_NAMES  # torch: only when the table is written
    def cell(name: str, key: str, spec: str) -> str:
        return span(json_path, f"strangers.{name}.{key}", look_up(results["strangers"][name], key), spec)
    lines = ["| stranger | step | held out | domain FID | balanced accuracy | caught | AP | "
             + " | ".join(f"`{part}` caught (AP)" for part in PART_NAMES) + " |",
             "|---|---:|---|---:|---:|---:|---:|" + "---:|" * len(PART_NAMES)]
    for name, row in results["strangers"].items():
        parts = [f"{cell(name, part + '.caught', '.3f')} ({cell(name, part + '.average_precision', '.3f')})"
                 if part in row else "—" for part in PART_NAMES]
        lines.append(f"| `{name}` | {cell(name, 'step', ',d')} | {'yes' if row['held_out'] else 'no'} | "
                     f"{cell(name, 'domain_fid', '.1f')} | {cell(name, 'detector.balanced_accuracy', '.4f')} | "
                     f"{cell(name, 'detector.caught', '.3f')} | {cell(name, 'detector.average_precision', '.3f')} | "
                     + " | ".join(parts) + " |")
    return lines


def act(config: DetectorConfig) -> dict:
    refuse_combinations(config)
    if config.sanity:
        from train.detection.evaluate import sanity_battery
        return sanity_battery(config)
    if config.shipped:
        from train.detection.shipped import measure_shipped
        return measure_shipped(config)
    if config.strangers:
        from train.detection.strangers import measure_strangers
        result = measure_strangers(config)
        if config.strangers_doc:
            from train.detection.shipped import shown
            replace_block(config.strangers_doc, "<!-- strangers -->", "<!-- /strangers -->",
                          strangers_table(result, shown(config.strangers_json)))
        return result
    if config.evaluate:
        from train.detection.evaluate import evaluate_detector
        return evaluate_detector(config)
    if config.add_zero_shot:
        from train.detection.train_detector import add_zero_shot
        return add_zero_shot(config)
    if config.add_top_levels:
        from train.detection.train_detector import add_top_levels
        return add_top_levels(config)
    from train.detection.train_detector import train_and_export
    return train_and_export(config)


def describe_shipped(config: DetectorConfig, result: dict) -> str:
    """One line: the file written, both models' seed's test, the detector's real FPR, the battery's counts."""
    seed, battery = result["seed_test"], result["sanity"]["models"]
    return (f"wrote {config.shipped_json}: seed's test balanced accuracy "
            + ", ".join(f"{name} {scores['balanced_accuracy']:.3f}" for name, scores in seed.items())
            + f"; detector real test FPR {result['real_test_fpr']:.4f}; sanity checks passed "
            + ", ".join(f"{name} {b['passed']} of {b['checked']}" for name, b in battery.items()))


def describe(config: DetectorConfig, result: dict) -> str:
    if config.sanity:
        from train.detection.report import sanity_table
        return "\n".join(sanity_table(result))
    if config.shipped:
        return describe_shipped(config, result)
    if config.strangers:
        return f"wrote {config.strangers_json}: " + "; ".join(
            f"{name} (domain FID {r['domain_fid']:.1f}{'' if r['held_out'] else ', not held out'}) caught "
            f"{r['detector']['caught']:.3f}, balanced accuracy {r['detector']['balanced_accuracy']:.3f}"
            for name, r in result["strangers"].items())
    if config.evaluate:
        return f"wrote {config.report}: " + "; ".join(
            f"{f} balanced accuracy {r['balanced_accuracy']:.3f}" for f, r in result["held_out"].items())
    if config.add_zero_shot:
        return (f"wrote {config.export}: {config.add_zero_shot} and the zero-shot part (generated: brightest level "
                f"below {result['cut']}, or below {result['floor']} without a JPEG trace of {result['trace_cut']:.4f}), "
                f"parity {result['onnx_max_abs_difference']:.1e}")
    if config.add_top_levels:
        return (f"wrote {config.export}: {config.add_top_levels} and the top-levels part (fitted on {result['real']} "
                f"real and {result['generated']} generated images at or above level {result['floor']}, cut "
                f"{result.get('cut', 'none: no generated image reached the floor')}), "
                f"parity {result['onnx_max_abs_difference']:.1e}")
    return (f"wrote {config.export} ({len(result['families'])} families, threshold {result['threshold']:.3f}, "
            f"parity {result['onnx_max_abs_difference']:.1e}, {result['seconds']:.0f} s)")


def main(argv=None) -> int:
    return run_command(DetectorConfig, argv, module="train.detector", action=act, describe=describe,
                       description="Train (or with --evaluate, measure; with --sanity, check; with --shipped, "
                       "measure the shipped models) the real-vs-generated detector.")


if __name__ == "__main__":
    sys.exit(main())
