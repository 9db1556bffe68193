"""The class-conditional GAN and its training: config, networks, losses, training loop.

Modules, imports going down this list only:
    trainer.py      the training loop: `train(config)` runs or resumes a run
    monitor.py      the fast domain FID logged every --domain-fid-every epochs
    sampling.py     draw images from a trained generator: labels, noise, batches
    checkpoint.py   save, load and check checkpoints; rebuild the networks from one
    config.py       TrainConfig, the flags of `python -m train`, and the --resume merge
    runtime.py      the device, autocast, and Ctrl-C between steps
    distributed.py  several processes (torchrun): DistributedDataParallel and rank helpers
    ema.py          --ema: the moving average of the generator's weights
    losses.py       the losses (--loss) and their formulas; LOSSES maps names to functions
    networks.py     the AC-GAN generator (five architectures: GENERATORS) and discriminator
"""
