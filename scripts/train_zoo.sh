#!/usr/bin/env bash
# The generator zoo behind models/detector.onnx and the equal-budget loss comparison: GANs of
# every family this workspace trains, on the real FashionMNIST, each with a wall-clock budget
# so the three losses get the same CPU time. Usage: scripts/train_zoo.sh [ZOO_DIR]
# (default runs/zoo). Budgets are minutes of this machine's 2 CPU cores; on a GPU add --device cuda
# and expect far more steps in the same minutes. Together with runs/fmnist-cgan (the shipped run,
# README) this is what `python -m train.detector --zoo runs/zoo --zoo runs/fmnist-cgan` learns from.
set -euo pipefail
zoo=${1:-runs/zoo}
python=${PYTHON:-python}
train() {  # train NAME MINUTES [flags...]
    local name=$1 minutes=$2
    shift 2
    if [[ -f $zoo/$name/checkpoints/latest.pt ]]; then echo "skip $name (exists)"; return; fi
    echo "== $name ($minutes min)"
    $python -m train --run-dir "$zoo/$name" --device cpu --epochs 100 --max-minutes "$minutes" \
        --no-progress "$@"
}
# The equal-budget loss comparison: same architecture, same seed, same minutes.
train convtranspose-ns 6 --seed 0
train convtranspose-hinge 6 --seed 0 --loss hinge
train convtranspose-wgan-gp 6 --seed 0 --loss wgan-gp --critic-steps 5
# The other generator architectures, conditioning and EMA (other seeds, for variety).
train upsample-ns 6 --seed 1 --generator upsample
train mlp-ns 4 --seed 2 --generator mlp
train convtranspose-ns-unconditional 5 --seed 3 --unconditional
train convtranspose-ns-ema 5 --seed 4 --ema 0.999
