"""The exporter's exception, raised by the ONNX writer below it (train.run.onnx_file) and by
`python -m export`, which turns it into a message and exit code 1."""
from train.errors import ExportError

__all__ = ["ExportError"]
