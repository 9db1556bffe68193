"""The training workspace's own exceptions; only the `__main__` modules turn them into messages."""


class TrainError(Exception):
    """Base class for every error the workspace raises on purpose."""


class DataError(TrainError):
    """The dataset is missing, unreadable or malformed."""


class CheckpointError(TrainError):
    """A checkpoint is missing, corrupt or was written by a different model."""


class DivergenceError(TrainError):
    """A loss became NaN or infinite."""


class EvaluationError(TrainError):
    """An evaluation could not be computed or its results do not hold together."""


class ReportError(TrainError):
    """An input of the report is missing or malformed."""


class WreathError(TrainError):
    """`python -m train.wreath` has no candle generator to draw with, or a bad --date."""


class ExportError(TrainError):
    """A model could not be exported to ONNX, or what was exported failed its checks."""


class DocNumberError(TrainError):
    """A document's number span is malformed or cites a JSON file, key or format that fails."""
