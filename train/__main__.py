"""`python -m train`: parse TrainConfig from the command line and train."""
import sys

from argparse_dataclass import ArgumentParser

from train.errors import TrainError
from train.gan.config import fields_given, resume_config, TrainConfig
from train.gan.trainer import train


def main(argv=None) -> int:
    parser = ArgumentParser(TrainConfig, prog="python -m train",
                            description="Train a class-conditional GAN (AC-GAN) on FashionMNIST.")
    config = parser.parse_args(argv)
    try:
        train(resume_config(config, fields_given(argv)))
    except TrainError as e:
        print(f"train: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"\ntrain: interrupted: {e or 'no checkpoint written'}; continue with --resume",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
