#!/usr/bin/env bash
# The generator zoo behind models/detector.onnx: GANs of many families, wide rather than long, so
# that the detector meets (and the leave-one-family-out test holds out) generators that differ in
# what leaves fingerprints: how they up-sample (transposed conv, nearest, bilinear, pixel shuffle,
# fully connected), the discriminator's normalisation (spectral norm or none), the loss (ns, hinge,
# wgan-gp), conditioning (AC-GAN or none), width (16, 32, 64), EMA weights and Adam settings;
# and two that are not GANs at all: conditional VAEs (python -m train.vae).
# Usage: scripts/train_zoo.sh [ZOO_DIR] (default runs/zoo). Each run has a wall-clock budget in
# minutes of this machine's 2 CPU cores: 48 in all, about 52 with start-up and the final figures.
# On a GPU add --device cuda and expect far more steps in the same minutes. A run whose
# checkpoints/latest.pt exists is skipped (runs of an older version of this list stay and are
# learnt from too: start from an empty ZOO_DIR for exactly this list). Together with the strong
# runs' generators committed in strong_zoo/ (the shipped run's among them) this is what
# `python -m train.detector` (--zoo runs/zoo strong_zoo) learns from: no hour-long run to repeat.
#
# Snapshots: the detector (train/detection/zoo.py) learns from every checkpoints/epoch_*.pt and
# the final latest.pt of a run, and tests on the final ones; an epoch is 469 steps, so a budget
# buys early and late snapshots only if it covers two epochs or more (the budgets below aim at
# 2 or more for every run: wgan-gp and width 64 are the slow ones).
#
# Every run names its generator, loss and EMA, so a change of TrainConfig's defaults cannot
# change the zoo. Spectral norm is off by default and has only an on switch (--spectral-norm):
# the runs with it say so, and the check below stops the script if that default changes.
set -euo pipefail
zoo=${1:-runs/zoo}
python=${PYTHON:-python}
$python -m train --help | grep -q -- ' --spectral-norm' || {
    echo "train_zoo.sh: python -m train no longer has --spectral-norm; the runs below assume" \
         "spectral norm is off unless they say --spectral-norm" >&2; exit 1; }
train() {  # train NAME MINUTES [flags...]
    local name=$1 minutes=$2
    shift 2
    if [[ -f $zoo/$name/checkpoints/latest.pt ]]; then echo "skip $name (exists)"; return; fi
    echo "== $name ($minutes min)"
    $python -m train --run-dir "$zoo/$name" --device cpu --epochs 100 --max-minutes "$minutes" \
        --no-progress "$@"
}
vae() {  # vae NAME MINUTES [flags...]: python -m train.vae, otherwise as train
    local name=$1 minutes=$2
    shift 2
    if [[ -f $zoo/$name/checkpoints/latest.pt ]]; then echo "skip $name (exists)"; return; fi
    echo "== $name ($minutes min)"
    $python -m train.vae --run-dir "$zoo/$name" --epochs 100 --max-minutes "$minutes" "$@"
}
# Optimiser recipes. DCGAN: no spectral norm, Adam(0.5, 0.999) at 2e-4 (the project's first
# recipe, train/gan/config.py DCGAN_RECIPE). SNGAN: spectral norm, two time-scale
# Adam(0, 0.9). WGAN-GP: the gradient penalty instead of spectral norm, 5 critic steps.
dcgan=(--lr-g 2e-4 --lr-d 2e-4 --beta1 0.5 --beta2 0.999)
sngan=(--spectral-norm --lr-g 1e-4 --lr-d 4e-4 --beta1 0 --beta2 0.9)
wgan=(--lr-g 1e-4 --lr-d 1e-4 --beta1 0 --beta2 0.9 --critic-steps 5)

# Runs named as in the earlier zoo (convtranspose-ns, -ns-ema, -ns-unconditional, -wgan-gp,
# upsample-ns, mlp-ns) keep its settings and seeds, so an existing runs/zoo keeps them.
# Transposed convs: the checkerboard of uneven overlap; each loss, conditioning, EMA.
train convtranspose-ns 3 --seed 0 --generator convtranspose --loss ns --ema 0 "${dcgan[@]}"
train convtranspose-ns-ema 3 --seed 4 --generator convtranspose --loss ns --ema 0.999 "${dcgan[@]}"
train convtranspose-ns-unconditional 3 --seed 3 --generator convtranspose --loss ns --ema 0 \
    --unconditional "${dcgan[@]}"
train convtranspose-wgan-gp 6 --seed 0 --generator convtranspose --loss wgan-gp --ema 0 "${dcgan[@]}" \
    --critic-steps 5
train convtranspose-hinge-sn 3 --seed 5 --generator convtranspose --loss hinge --ema 0 "${sngan[@]}"
# Nearest-neighbour up-sampling + 3x3 conv: copied 2x2 blocks, no checkerboard.
train upsample-ns 3 --seed 1 --generator upsample --loss ns --ema 0 "${dcgan[@]}"
train upsample-hinge 3 --seed 6 --generator upsample --loss hinge --ema 0.999 "${sngan[@]}"
train upsample-wgan-gp-w16 4 --seed 7 --generator upsample --loss wgan-gp --ema 0 --width 16 "${wgan[@]}"
# Bilinear up-sampling + 3x3 conv: a low-pass interpolation kernel.
train bilinear-hinge 3 --seed 8 --generator bilinear --loss hinge --ema 0.999 "${sngan[@]}"
train bilinear-ns-unconditional 2 --seed 9 --generator bilinear --loss ns --ema 0 --unconditional "${dcgan[@]}"
# Sub-pixel convs (pixel shuffle): a period-2 pattern from four filters per 2x2 block.
train pixelshuffle-hinge 3 --seed 10 --generator pixelshuffle --loss hinge --ema 0 "${sngan[@]}"
train pixelshuffle-ns-w64 4 --seed 11 --generator pixelshuffle --loss ns --ema 0 --width 64 "${dcgan[@]}"
# Fully connected: no spatial prior at all (pixel-level noise).
train mlp-ns 2 --seed 2 --generator mlp --loss ns --ema 0 "${dcgan[@]}"
train mlp-hinge 2 --seed 12 --generator mlp --loss hinge --ema 0.999 "${sngan[@]}"
# Not a GAN: conditional VAEs, whose images are blurred averages rather than adversarially
# sharpened; the second with a heavier KL term (beta-VAE), blurrier still.
vae vae-convtranspose 2 --seed 13 --generator convtranspose
vae vae-upsample 2 --seed 14 --generator upsample --kl-weight 2
