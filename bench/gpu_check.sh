#!/usr/bin/env bash
# The CUDA path of the workspace in one script (< 5 minutes on one GPU), one line per check:
# train a few hundred steps (bf16 autocast, as the trainer does on CUDA), resume, export and
# check ONNX parity, generate, run the exported discriminator, evaluate on CUDA, and torchrun
# DDP (nccl) on every GPU present, and ./run.sh's 64×64 RGB recipe on a synthetic dogs folder. Prints "PASS name: detail" or "FAIL name: ..." per check and
# a closing count; exits 1 if any check failed.
#
#   bench/gpu_check.sh [DATA_DIR]        DATA_DIR: the four FashionMNIST IDX .gz files
#                                        (default: the usual lookup of python -m train)
#   DEVICE=cpu STEPS=20 bench/gpu_check.sh   # the same checks on the CPU (a dry run)
#
# Environment: PYTHON (default python3), DEVICE (cuda), STEPS (300), WORK (a fresh temp dir).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-300}
WORK=${WORK:-$(mktemp -d)}
DATA=()
[[ $# -ge 1 ]] && DATA=(--data-dir "$1")
RUN="$WORK/run"
LOG="$WORK/log"
mkdir -p "$LOG"
passed=0
failed=0

# check NAME DETAIL_COMMAND -- COMMAND...: run COMMAND (log in $LOG/NAME.log); on success print
# the output of DETAIL_COMMAND as the detail.
check() {
  local name=$1 detail=$2
  shift 3
  local started=$SECONDS
  if "$@" >"$LOG/$name.log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name ($((SECONDS - started)) s): $(eval "$detail" 2>&1 | tail -1)"
  else
    failed=$((failed + 1))
    echo "FAIL $name ($((SECONDS - started)) s): $(tail -3 "$LOG/$name.log" | tr '\n' ' ')"
  fi
}

step_of() {  # the step saved in RUN_DIR/checkpoints/latest.pt
  "$PYTHON" -c "import sys, torch; print(torch.load(sys.argv[1], weights_only=False)['step'])" \
    "$1/checkpoints/latest.pt"
}

rate_of() {  # median images/s of the run's last 50 metrics rows
  "$PYTHON" -c "
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '\"images_per_s\"' in l][-50:]
print(f'{statistics.median(r[\"images_per_s\"] for r in rows):,.0f} images/s (median of the last {len(rows)} steps)')
" "$1/metrics.jsonl"
}

gpus=$("$PYTHON" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
TRAIN=(-m train --device "$DEVICE" "${DATA[@]}" --no-progress --domain-fid-every 0 --epochs 100)

check device "$PYTHON -c \"import torch; d = torch.cuda.is_available() and torch.cuda.get_device_name(0); print(f'torch {torch.__version__}, {\\\"$DEVICE\\\"}: {d or \\\"no CUDA\\\"}, {$gpus} GPU(s)')\"" -- \
  "$PYTHON" -c "import sys, torch; sys.exit(0 if '$DEVICE' == 'cpu' or torch.cuda.is_available() else 1)"
check train "echo \"step \$(step_of $RUN), \$(rate_of $RUN)\"" -- \
  "$PYTHON" "${TRAIN[@]}" --run-dir "$RUN" --max-steps "$STEPS"
resume() {  # continue the run for 50 more steps; fail unless it ends exactly there
  "$PYTHON" "${TRAIN[@]}" --run-dir "$RUN" --resume --max-steps $((STEPS + 50)) &&
    [[ $(step_of "$RUN") == $((STEPS + 50)) ]]
}
check resume "echo \"step \$(step_of $RUN) after resuming at step $STEPS\"" -- resume
check export "$PYTHON -c \"import json; r = json.load(open('$WORK/models/export.json')); print(', '.join(f'{k} max |diff| {v[\\\"max_abs_difference\\\"]:.1e}' for k, v in r['models'].items()))\"" -- \
  "$PYTHON" -m export --run-dir "$RUN" --out "$WORK/models" "${DATA[@]}"
check generate "ls $WORK/gen | grep -c png | sed 's/$/ PNGs/'" -- \
  "$PYTHON" -m train.generate --run-dir "$RUN" --n 100 --out "$WORK/gen" --device "$DEVICE" --no-progress
detect() {  # the exported discriminator through the torch-free runtime, on a generated PNG
  "$PYTHON" -m detector --model "$WORK/models/discriminator.onnx" "$(ls "$WORK"/gen/*.png | head -1)"
}
check detector "cat $LOG/detector.log" -- detect
check evaluate "$PYTHON -c \"import json; e = json.load(open('$RUN/eval.json')); print(json.dumps(e.get('discriminator', e))[:160])\"" -- \
  "$PYTHON" -m train.evaluate --run-dir "$RUN" --model "$WORK/models/discriminator.onnx" "${DATA[@]}" \
  --fid-samples 0 --accuracy-samples 500 --device "$DEVICE" --no-progress
nproc=$((gpus > 0 ? gpus : 1))
[[ $DEVICE == cpu ]] && nproc=2
check ddp "echo \"$nproc process(es): step \$(step_of $WORK/ddp), \$(rate_of $WORK/ddp)\"" -- \
  "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node="$nproc" \
  "${TRAIN[@]}" --run-dir "$WORK/ddp" --max-steps 100

# The 64×64 RGB recipe (DOGS_RECIPE) end to end through ./run.sh on a synthetic dogs-layout
# folder (tests/conftest.py write_dogs_layout): STEPS steps, 10,000 PNGs, FID on 200 per side.
dogs() {
  "$PYTHON" -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from conftest import write_dogs_layout; write_dogs_layout(Path(sys.argv[1]), per_breed=40)" "$WORK/dogs" &&
    RESULT_DIR="$WORK/result" PYTHON="$PYTHON" MAX_STEPS="$STEPS" FID_IMAGES=200 \
      TRAIN_FLAGS="--device $DEVICE --no-progress" ./run.sh "$WORK/dogs" &&
    [[ $(ls "$WORK/result/images_inference" | grep -c '\.png$') == 10000 ]]
}
check dogs64 "echo \"\$(rate_of $WORK/result/run), \$(grep '^FID' $LOG/dogs64.log)\"" -- dogs

echo "gpu_check: $passed passed, $failed failed (logs in $LOG)"
[[ $failed -eq 0 ]]
