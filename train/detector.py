"""`python -m train.detector`: fit and export the detector, with --evaluate measure it, or with
--sanity print its sanity battery (and the discriminator's)."""
import sys

from train.command import run_command
from train.detection.config import DetectorConfig
from train.errors import TrainError


def act(config: DetectorConfig) -> dict:
    if config.sanity and config.evaluate:
        raise TrainError("--sanity and --evaluate are separate runs (--evaluate includes the battery)")
    if config.sanity:
        from train.detection.evaluate import sanity_battery
        return sanity_battery(config)
    if config.evaluate:
        from train.detection.evaluate import evaluate_detector
        return evaluate_detector(config)
    from train.detection.train_detector import train_and_export
    return train_and_export(config)


def describe(config: DetectorConfig, result: dict) -> str:
    if config.sanity:
        from train.detection.report import sanity_table
        return "\n".join(sanity_table(result))
    if config.evaluate:
        return f"wrote {config.report}: " + "; ".join(
            f"{f} balanced accuracy {r['balanced_accuracy']:.3f}" for f, r in result["held_out"].items())
    return (f"wrote {config.export} ({len(result['families'])} families, threshold {result['threshold']:.3f}, "
            f"parity {result['onnx_max_abs_difference']:.1e}, {result['seconds']:.0f} s)")


def main(argv=None) -> int:
    return run_command(DetectorConfig, argv, module="train.detector", action=act, describe=describe,
                       description="Train (or with --evaluate, measure; with --sanity, check) the real-vs-generated "
                       "detector.")


if __name__ == "__main__":
    sys.exit(main())
