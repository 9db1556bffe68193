"""`python -m export`: parse ExportConfig and export a run's checkpoint to ONNX."""
import sys

from argparse_dataclass import ArgumentParser

from train.errors import TrainError

from .config import ExportConfig
from .onnx_export import export_run


def main(argv=None) -> int:
    parser = ArgumentParser(ExportConfig, prog="python -m export",
                            description="Export a trained run to ONNX (discriminator + generator), "
                                        "checked against PyTorch.")
    config = parser.parse_args(argv)
    try:
        report = export_run(config)
    except TrainError as e:  # ExportError, CheckpointError, DataError
        print(f"export: {e}", file=sys.stderr)
        return 1
    for name, model in report["models"].items():
        print(f"{config.out / model['file']}: max |onnx - torch| = {model['max_abs_difference']:.2e} "
              f"over {model['parity_inputs']} inputs (tolerance {config.tolerance:.0e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
