"""`--ema DECAY`: an exponential moving average of the generator's weights, for steadier samples.

After every generator update, each EMA parameter moves a fraction (1 - DECAY) of the way to the
trained one, and the BatchNorm running statistics are copied as they are: they are statistics of
the trained generator's activations, not weights to average. The EMA generator is never trained
and always in eval mode; it draws the sample grids, the domain FID, `python -m train.generate` /
`evaluate`, and the exported generator (train.gan.checkpoint.networks_from_checkpoint).
"""
import copy

import torch
from torch import nn


def make_ema(generator: nn.Module) -> nn.Module:
    """A frozen copy of the generator, in eval mode, to be moved by update_ema."""
    ema = copy.deepcopy(generator).eval()
    ema.requires_grad_(False)
    return ema


def warmed_up_decay(decay: float, step: int) -> float:
    """The decay to use after `step` updates: min(decay, (1 + step) / (10 + step)). A fixed 0.999
    from step 0 leaves 0.999^2261 = 10 % of the *random initial* weights in the average after
    2,261 steps (bench/ema.py compares the raw and the averaged generator's domain FID per
    checkpoint); the warm-up averages roughly the last tenth of training early on, and the full
    window later (as TensorFlow's ExponentialMovingAverage with num_updates)."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * generator for parameters; buffers copied."""
    for averaged, trained in zip(ema.parameters(), generator.parameters()):
        averaged.lerp_(trained, 1.0 - decay)
    for averaged, trained in zip(ema.buffers(), generator.buffers()):
        averaged.copy_(trained)
