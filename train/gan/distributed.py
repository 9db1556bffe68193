"""Several processes: `torchrun --nproc_per_node=K -m train ...` trains with DistributedDataParallel.

The design, chosen so that K ranks train the same model as one process on the same batches:
- `--batch-size` is the *global* batch: each step's batch (from trainer.epoch_batches, the same on
  every rank) is cut into K equal slices and rank r trains on slice r, so it must divide by K.
- Every rank draws the noise, labels and WGAN-GP epsilons of the whole global batch from the
  run's one noise RNG and keeps its slice, so the RNG state (saved in checkpoints) is the same on
  every rank and the same as in a single process: resume works unchanged.
- DDP averages the gradients over ranks: the mean-over-the-batch losses then give the gradient
  of the global batch's loss. The generator's BatchNorm computes its batch statistics over the
  global batch too (CrossRankBatchNorm below), so K ranks reproduce one process up to float
  rounding. (torch.nn.SyncBatchNorm would do this, but it refuses CPU tensors, so gloo runs could
  not use it.) The discriminator has no BatchNorm.
- Rank 0 alone writes: run directory, checkpoints, metrics.jsonl, figures, progress, domain FID.
  The statistics it logs are averaged over the ranks, i.e. those of the global batch.
Backend: nccl on CUDA (one GPU per rank, by LOCAL_RANK) with gloo for the few CPU tensors, gloo
on the CPU.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a global batch (the whole batch in a single process)."""
        if self.world_size == 1:
            return batch
        n = len(batch) // self.world_size
        return batch[self.rank * n:(self.rank + 1) * n]


SINGLE = Ranks()


def init(device_name: str) -> Ranks:
    """Join the process group torchrun describes in the environment; SINGLE without torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return SINGLE
    cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        # With CUDA, nccl carries the tensors on the GPU and gloo the CPU ones (any_rank's flag):
        # nccl alone refuses CPU tensors.
        dist.init_process_group("cpu:gloo,cuda:nccl" if cuda else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size())


def shutdown(ranks: Ranks) -> None:
    if ranks.world_size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def mean_across_ranks(values: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    if ranks.world_size > 1:
        dist.all_reduce(values)
        values = values / ranks.world_size
    return values


def any_rank(flag: bool, ranks: Ranks) -> bool:
    """True on every rank when it is true on one (Ctrl-C reaches ranks at different steps)."""
    if ranks.world_size == 1:
        return flag
    value = torch.tensor([float(flag)])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class _SumAcrossRanks(torch.autograd.Function):
    """y = sum over ranks of x; the gradient of each rank's x is the sum of the ranks' dy."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        total = x.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        total = grad.clone()
        dist.all_reduce(total)
        return total


class CrossRankBatchNorm(nn.Module):
    """Drop-in for a BatchNorm layer in train mode: mean and variance over the batch slices of
    all ranks (all-reduced sums, gradients flowing back through the all-reduce); the running
    statistics, their update and eval mode are those of the BatchNorm it replaces."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        self.eps, self.momentum = norm.eps, norm.momentum
        self.weight, self.bias = norm.weight, norm.bias  # None without affine
        self.register_buffer("running_mean", norm.running_mean)
        self.register_buffer("running_var", norm.running_var)
        self.register_buffer("num_batches_tracked", norm.num_batches_tracked)

    def _sum(self, x: torch.Tensor, dims: list) -> torch.Tensor:
        total = x.sum(dims)
        return _SumAcrossRanks.apply(total) if dist.is_initialized() else total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        dtype = x.dtype  # bfloat16 under autocast: the statistics are float32, as BatchNorm's are
        x = x.float()
        dims = [0, *range(2, x.dim())]
        count = x.numel() // x.shape[1] * (dist.get_world_size() if dist.is_initialized() else 1)
        shape = (1, -1, *([1] * (x.dim() - 2)))
        mean = self._sum(x, dims) / count
        centred = x - mean.view(shape)
        var = self._sum(centred * centred, dims) / count  # biased, as BatchNorm normalises
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * count / (count - 1), self.momentum)
            self.num_batches_tracked += 1
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(dtype)


def convert_batchnorm(module: nn.Module) -> None:
    """Replace every BatchNorm inside `module` by a CrossRankBatchNorm sharing its buffers."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, CrossRankBatchNorm(child))
        else:
            convert_batchnorm(child)


def wrap(generator: nn.Module, discriminator: nn.Module, device: torch.device) -> tuple:
    """DDP wrappers for the training passes; the plain modules stay what checkpoints, the EMA
    and figures use (same parameters, same state_dict keys)."""
    convert_batchnorm(generator)
    ids = [torch.cuda.current_device()] if device.type == "cuda" else None
    return DistributedDataParallel(generator, device_ids=ids), DistributedDataParallel(discriminator, device_ids=ids)
