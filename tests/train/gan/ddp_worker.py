"""Run by tests/train/gan/test_distributed.py under torchrun: `python -m train` with its arguments,
then every rank saves the weights it ended with to RUN_DIR/rank<R>.pt (rank 0 also writes the
run's usual files)."""
import os
import sys
from pathlib import Path

import torch
from argparse_dataclass import ArgumentParser

from train.gan.config import fields_given, resume_config, TrainConfig
from train.gan.trainer import train

if __name__ == "__main__":
    config = resume_config(ArgumentParser(TrainConfig).parse_args(sys.argv[1:]), fields_given(sys.argv[1:]))
    state = train(config)
    weights = {"generator": state.generator.state_dict(), "discriminator": state.discriminator.state_dict(),
               "ema": None if state.ema is None else state.ema.state_dict(),
               "noise_rng": state.noise_rng.get_state(), "step": state.step}
    torch.save(weights, Path(config.run_dir) / f"rank{os.environ.get('RANK', '0')}.pt")
