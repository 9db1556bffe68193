"""Train a class-conditional GAN (AC-GAN) on FashionMNIST; see README.md."""

__version__ = "0.1.0"
