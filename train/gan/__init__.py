"""The class-conditional GAN: its config, networks and losses, the training loop, EMA,
several processes, checkpoints, sampling and the domain-FID monitor."""
