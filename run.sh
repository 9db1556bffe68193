#!/usr/bin/env bash
# ./run.sh DATA_PATH: the dog-images brief end to end. Trains the 64×64 RGB recipe
# (train/gan/config.py DOGS_RECIPE) from scratch on DATA_PATH (the Stanford Dogs layout: images/
# and annotations/), writes exactly 10,000 generated 64×64 RGB PNGs to result/images_inference/
# (replacing what was there) and prints the FID (and MiFID) against the real crops.
#
# Environment (all optional):
#   MAX_STEPS=N    train only N steps (quick checks); default: the recipe's epochs
#   FID_IMAGES=N   FID on N images of each side; default 10,000 (the brief's)
#   TRAIN_FLAGS    more `python -m train` flags, after the recipe's (e.g. "--device cpu")
#   PYTHON         the interpreter with requirements-train.txt installed (default: python)
#   RESULT_DIR     where result/ goes (default: beside run.sh; the tests use a temporary one)
# Files: result/run/ (the run: checkpoints, samples/epoch_NNN.png, loss_curves.png),
# result/cache/ (the crops, prepared once per DATA_PATH), result/fid.json (the figures).
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: ./run.sh DATA_PATH   (a folder with images/<breed>/*.jpg and annotations/<breed>/*)" >&2
  exit 2
fi
DATA=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: $1: no such folder" >&2; exit 2; }
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
RESULT=${RESULT_DIR:-$PWD/result}
STEPS=()
[[ -n "${MAX_STEPS:-}" ]] && STEPS=(--max-steps "$MAX_STEPS")
read -r -a RECIPE <<<"$("$PYTHON" -c 'from train.gan.config import DOGS_RECIPE, as_flags; print(" ".join(as_flags(DOGS_RECIPE)))')"
read -r -a EXTRA <<<"${TRAIN_FLAGS:-}"

rm -rf "$RESULT/run" "$RESULT/images_inference" "$RESULT/fid.json"
"$PYTHON" -m train "${RECIPE[@]}" --data-dir "$DATA" --run-dir "$RESULT/run" \
  --crop-cache "$RESULT/cache" "${STEPS[@]}" "${EXTRA[@]}"
"$PYTHON" -m train.generate --run-dir "$RESULT/run" --n 10000 --out "$RESULT/images_inference" --no-npz
"$PYTHON" -m train.fid "$RESULT/images_inference" "$RESULT/cache/dogs_64.npz" \
  --n "${FID_IMAGES:-10000}" --json "$RESULT/fid.json"
