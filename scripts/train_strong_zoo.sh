#!/usr/bin/env bash
# The strong runs behind strong_zoo/: the project's default recipe (hinge, EMA, 125 epochs: the
# shipped generator's length) per architecture, and a second seed of the shipped recipe, each
# exported into strong_zoo/NAME when it ends. Hours of CPU each (strong_zoo/README.md has the
# minutes), so the generators are committed and `python -m train.detector` needs none of this.
# Usage: scripts/train_strong_zoo.sh [NAME ...]   (default: every run below, one after another)
#        scripts/train_strong_zoo.sh --park NAME ...  keep stopped runs in the repository
# A run longer than a session is parked: its last checkpoint, config and metrics (xz) are copied
# into strong_zoo/in_progress/NAME to be committed; a later run of NAME on a machine without the
# run directory starts from there, and its export removes the parked copy.
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
parked=strong_zoo/in_progress
park=0
[[ ${1:-} == --park ]] && { park=1; shift; (($#)) || { echo "train_strong_zoo.sh: --park needs run names" >&2; exit 2; }; }
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
park() {  # park NAME: copy the run's state into $parked/NAME
    local run=$runs/$1 to=$parked/$1
    [[ -f $run/checkpoints/latest.pt ]] || { echo "train_strong_zoo.sh: nothing to park: no $run/checkpoints/latest.pt" >&2; exit 2; }
    mkdir -p "$to/checkpoints"
    cp "$run/config.json" "$to/"
    cp "$run/checkpoints/latest.pt" "$to/checkpoints/"
    xz -9 -c "$run/metrics.jsonl" > "$to/metrics.jsonl.xz"
    echo "parked $run in $to: commit it"
}
unpark() {  # unpark NAME: a parked run becomes the run directory to resume
    local run=$runs/$1 from=$parked/$1
    [[ -f $run/checkpoints/latest.pt || ! -f $from/checkpoints/latest.pt ]] && return
    mkdir -p "$run/checkpoints"
    cp "$from/config.json" "$run/"
    cp "$from/checkpoints/latest.pt" "$run/checkpoints/"
    xz -d -c "$from/metrics.jsonl.xz" > "$run/metrics.jsonl"
    echo "== $1: resuming the run parked in $from"
}
if ((park)); then
    for name in "${names[@]}"; do park "$name"; done
    exit 0
fi
for name in "${names[@]}"; do
    run=$runs/$name
    unpark "$name"
    resume=()
    [[ -f $run/checkpoints/latest.pt ]] && resume=(--resume)
    echo "== $name"
    # shellcheck disable=SC2086  # the flags are words
    "${pin[@]}" "${launch[@]}" -m train --run-dir "$run" --device cpu --epochs 125 --no-progress \
        ${flags[$name]} "${resume[@]}"
    $python -m export --checkpoint "$run/checkpoints/latest.pt" --out "strong_zoo/$name"
    if [[ -f strong_zoo/$name/generator.onnx ]]; then rm -rf "${parked:?}/$name"; fi  # superseded
done
