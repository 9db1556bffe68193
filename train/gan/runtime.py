"""Where and how a training process runs: the device, autocast, and when to stop (Ctrl-C
between steps, the --max-minutes deadline)."""
import contextlib
import os
import shutil
import signal
import time
import warnings
from dataclasses import dataclass
from typing import Optional

import torch

from train.errors import TrainError
from train.gan import distributed
from train.gan.distributed import Ranks


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity (taskset, cgroup cpusets), not the machine's
    count, so two jobs pinned to one core each do not both start two threads."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda given but PyTorch sees no CUDA device")
    return torch.device(name)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 itself (AVX-512 BF16 or AMX). Without either, bf16 is
    emulated in software and autocast trains slower than float32, not faster (an AMD EPYC:
    docs/train_speed_cpu_without_bf16.json)."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def check_compile(device: torch.device) -> None:
    """--compile on the CPU needs the C++ compiler inductor builds its kernels with ($CXX, else
    g++ or clang++): refuse before training rather than fail at the first step."""
    if device.type == "cpu" and not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")):
        raise TrainError("--compile on the CPU needs a C++ compiler: none found ($CXX unset, no g++ "
                         "or clang++ on PATH); install one or train without --compile")


def make_autocast(device: torch.device, precision: str = "auto"):
    """A no-argument factory of the context the forward passes run in (--precision): bfloat16
    autocast, or nothing. The losses themselves stay float32 either way (autocast's op lists).
    bf16 asked for on a CPU without bfloat16 units is done as asked, with a warning."""
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        warnings.warn("--precision bf16: this CPU has no bfloat16 units (cpu_has_bf16), so bf16 "
                      "autocast is emulated and slower than float32 (bench/train_speed.py measures "
                      "both)", RuntimeWarning, stacklevel=2)
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


@dataclass
class StopFlags:
    """Why training stops after the current step. Checked between steps, so a checkpoint is
    never taken mid-update."""
    interrupted: bool = False         # Ctrl-C (SIGINT): save, then raise KeyboardInterrupt
    out_of_time: bool = False         # --max-minutes spent: end the run as if it were done
    deadline: Optional[float] = None  # time.monotonic() when --max-minutes runs out; None: no budget

    @property
    def any(self) -> bool:
        return self.interrupted or self.out_of_time

    def agree(self, ranks: Ranks) -> bool:
        """Update the flags from every rank (one rank stopping alone would hang DDP's next
        all-reduce); returns whether to stop now."""
        self.interrupted = distributed.any_rank(self.interrupted, ranks)
        if self.deadline is not None:
            self.out_of_time = distributed.any_rank(time.monotonic() > self.deadline, ranks)
        return self.any


def deadline_after(minutes: Optional[float]) -> Optional[float]:
    """The time.monotonic() at which a budget of `minutes` from now runs out (None: none)."""
    return None if minutes is None else time.monotonic() + 60 * minutes


@contextlib.contextmanager
def stop_on_sigint(deadline: Optional[float] = None):
    """Turn Ctrl-C into StopFlags.interrupted, checked between steps; yields the StopFlags."""
    flags = StopFlags(deadline=deadline)
    if not hasattr(signal, "SIGINT") or signal.getsignal(signal.SIGINT) is None:
        yield flags
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: setattr(flags, "interrupted", True))
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield flags
        return
    try:
        yield flags
    finally:
        signal.signal(signal.SIGINT, previous)
