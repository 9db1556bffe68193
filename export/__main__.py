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
        describe=parity_lines)


def parity_lines(config: ExportConfig, report: dict) -> str:
    return "\n".join(f"{config.out / m['file']}: max |onnx - torch| = {m['max_abs_difference']:.2e} "
                     f"over {m['parity_inputs']} inputs (tolerance {config.tolerance:.0e})"
                     for m in report["models"].values())


if __name__ == "__main__":
    sys.exit(main())
