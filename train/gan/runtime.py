"""Where and how a training process runs: the device, autocast, and Ctrl-C between steps."""
import contextlib
import signal

import torch

from train.errors import TrainError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda given but PyTorch sees no CUDA device")
    return torch.device(name)


def make_autocast(device: torch.device):
    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


@contextlib.contextmanager
def stop_on_sigint():
    """Turn Ctrl-C into a flag checked between steps, so the checkpoint is never mid-update."""
    flag = {"stop": False}
    if not hasattr(signal, "SIGINT") or signal.getsignal(signal.SIGINT) is None:
        yield flag
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: flag.update(stop=True))
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
