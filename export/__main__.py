"""`python -m export`: parse ExportConfig and export a run's checkpoint to ONNX."""
import sys


from train.command import run_command

from .config import ExportConfig
from .onnx_export import export_run


def main(argv=None) -> int:
    return run_command(
        ExportConfig, argv, module="export", action=export_run,
        description="Export a trained run to ONNX (discriminator + generator), checked "
                    "against PyTorch.",
        describe=written)


def written(config: ExportConfig, report: dict) -> str:
    """What was written, its parity, and the command that runs the new discriminator."""
    out = config.out_dir()
    lines = [f"{out / m['file']}: max |onnx - torch| = {m['max_abs_difference']:.2e} over "
             f"{m['parity_inputs']} inputs (tolerance {config.tolerance:.0e})"
             for m in report["models"].values()]
    return "\n".join([f"exported {report['checkpoint']} (step {report['step']})", *lines,
                      f"run it: python -m detector --model {out / 'discriminator.onnx'} IMAGE "
                      "(without --model, python -m detector runs the shipped models/detector.onnx)"])


if __name__ == "__main__":
    sys.exit(main())
