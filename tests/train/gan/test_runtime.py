"""StopFlags: Ctrl-C and the --max-minutes budget, checked between steps; --precision's autocast."""
import contextlib
import signal
import warnings

import pytest
import torch

from train.gan import runtime
from train.gan.distributed import SINGLE
from train.errors import TrainError
from train.gan.runtime import check_compile, deadline_after, make_autocast, StopFlags, stop_on_sigint


def test_ctrl_c_sets_interrupted_and_the_handler_is_restored():
    handler = signal.getsignal(signal.SIGINT)
    with stop_on_sigint() as stop:
        assert stop == StopFlags()
        signal.raise_signal(signal.SIGINT)
        assert stop.interrupted and stop.agree(SINGLE)
    assert signal.getsignal(signal.SIGINT) is handler


def test_the_deadline_ends_the_run_once_passed(monkeypatch):
    clock = {"now": 100.0}
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock["now"])
    stop = StopFlags(deadline=deadline_after(2.0))
    assert stop.deadline == 220.0 and not stop.agree(SINGLE)
    clock["now"] = 220.5
    assert stop.agree(SINGLE) and stop.out_of_time and not stop.interrupted


def test_no_budget_never_runs_out():
    assert deadline_after(None) is None
    assert not StopFlags().agree(SINGLE)


@pytest.mark.filterwarnings("ignore:--precision bf16")  # this CPU may lack bfloat16 units
@pytest.mark.parametrize("device, precision, autocast", [
    ("cpu", "auto", False), ("cpu", "fp32", False), ("cpu", "bf16", True),
    ("cuda", "auto", True), ("cuda", "fp32", False), ("cuda", "bf16", True)])
def test_precision_picks_whether_the_forward_passes_autocast(device, precision, autocast):
    assert (make_autocast(torch.device(device), precision) is not contextlib.nullcontext) == autocast


@pytest.mark.filterwarnings("ignore:--precision bf16")  # this CPU may lack bfloat16 units
def test_bf16_on_the_cpu_computes_in_bfloat16_and_keeps_float32_weights():
    layer = torch.nn.Linear(4, 2)
    with make_autocast(torch.device("cpu"), "bf16")():
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
        out = layer(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16 and layer.weight.dtype == torch.float32


@pytest.mark.parametrize("has_bf16, warned", [(True, False), (False, True)])
def test_bf16_on_a_cpu_without_bfloat16_units_warns(monkeypatch, has_bf16, warned):
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: has_bf16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runtime.make_autocast(torch.device("cpu"), "bf16")
        runtime.make_autocast(torch.device("cpu"), "auto")  # float32: nothing to warn about
    assert [str(w.message).startswith("--precision bf16: this CPU has no bfloat16 units") for w in caught] \
        == ([True] if warned else [])


@pytest.mark.parametrize("cxx, compilers, refused", [
    (None, [], True), (None, ["g++"], False), (None, ["clang++"], False), ("/opt/cc/bin/c++", [], False)])
def test_compile_on_the_cpu_needs_a_cpp_compiler(monkeypatch, cxx, compilers, refused):
    monkeypatch.setattr(runtime.shutil, "which", lambda name: f"/usr/bin/{name}" if name in compilers else None)
    monkeypatch.delenv("CXX", raising=False)
    if cxx:
        monkeypatch.setenv("CXX", cxx)
    if refused:
        with pytest.raises(TrainError, match="--compile on the CPU needs a C\\+\\+ compiler"):
            check_compile(torch.device("cpu"))
    else:
        check_compile(torch.device("cpu"))
    check_compile(torch.device("cuda"))  # CUDA kernels come from Triton, not a host compiler
