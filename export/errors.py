"""The exporter's own exception; `python -m export` turns it into a message and exit code 1."""
from train.errors import TrainError


class ExportError(TrainError):
    """The model could not be exported, or what was exported failed its checks."""
