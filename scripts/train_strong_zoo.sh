#!/usr/bin/env bash
# The strong runs behind strong_zoo/: the project's default recipe (hinge, EMA, 125 epochs: the
# shipped generator's length) per architecture, and a second seed of the shipped recipe, each
# exported into strong_zoo/NAME when it ends. Hours of CPU each (strong_zoo/README.md has the
# minutes), so the generators are committed and `python -m train.detector` needs none of this.
# Usage: scripts/train_strong_zoo.sh [NAME ...]   (default: every run below, one after another)
#   RUNS=runs/strong  where the run directories go      CORE=N  pin the runs to CPU core(s) N
#   NPROC=K  train each run with DistributedDataParallel over K CPU processes (torchrun, gloo): the
#            same global batch and recipe (docs/gan_notes.md section 5)
# Two shells with different NAMEs and CORE=0 / CORE=1 train two runs side by side; CORE=0,1
# NPROC=2 trains one run on both cores. A run whose checkpoints/latest.pt exists is resumed
# (--resume), so a stopped run continues where it was.
# Every run names its generator and seed; the rest is the default recipe (train/gan/config.py).
# --precision bf16 only where the CPU has bfloat16 units (train/gan/runtime.py cpu_has_bf16; pixel
# shuffle's run had them, nearest up-sampling's had not); the card says where each run trained.
set -euo pipefail
runs=${RUNS:-runs/strong}
python=${PYTHON:-python}
declare -A flags=(
    [recipe-seed1]="--seed 1 --generator convtranspose"
    [mlp-recipe]="--seed 3 --generator mlp"
    [pixelshuffle-recipe]="--seed 4 --generator pixelshuffle --precision bf16"
    [upsample-recipe]="--seed 5 --generator upsample --compile"
)
order=(recipe-seed1 mlp-recipe pixelshuffle-recipe upsample-recipe)
pin=()
[[ -n ${CORE:-} ]] && pin=(taskset -c "$CORE")
nproc=${NPROC:-1}
[[ $nproc =~ ^[1-9][0-9]*$ ]] || { echo "train_strong_zoo.sh: NPROC must be a whole number >= 1, not '$nproc'" >&2; exit 2; }
launch=("$python")
[[ $nproc != 1 ]] && launch=("$python" -m torch.distributed.run --standalone "--nproc_per_node=$nproc")
names=("${@:-${order[@]}}")
for name in "${names[@]}"; do  # every name checked before any run starts
    [[ -n ${flags[$name]:-} ]] || { echo "train_strong_zoo.sh: no run named $name (${order[*]})" >&2; exit 2; }
done
for name in "${names[@]}"; do
    run=$runs/$name
    resume=()
    [[ -f $run/checkpoints/latest.pt ]] && resume=(--resume)
    echo "== $name"
    # shellcheck disable=SC2086  # the flags are words
    "${pin[@]}" "${launch[@]}" -m train --run-dir "$run" --device cpu --epochs 125 --no-progress \
        ${flags[$name]} "${resume[@]}"
    $python -m export --checkpoint "$run/checkpoints/latest.pt" --out "strong_zoo/$name"
done
