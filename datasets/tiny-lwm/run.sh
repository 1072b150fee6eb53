#!/usr/bin/env bash
# The tiny-LWM experiment (issue #15, docs/tiny-lwm.md) in one resumable command:
#
#   datasets/tiny-lwm/run.sh [OUT]        (default OUT: datasets/tiny-lwm/out)
#
# 1. links the books (prepare.mjs: data/train, and the held-out data/haystack);
# 2. builds the dataset: lwm run (books → qa → recall → pack) into OUT/data;
# 3. trains lookup → 2k → 8k → 32k in one run folder (OUT/runs/main), one stage per `lwm train`
#    call, and evaluates each stage's final checkpoint with `lwm eval needle` (LWM's template and the
#    training task's) into OUT/eval/<run>-<stage>-<template>/. The lookup stage (512 tokens, short
#    recall examples) stands in for the short-context base model LWM started from; it is evaluated
#    only at the short lengths (TINY_LWM_LOOKUP_LENGTHS);
# 4. trains and evaluates the control (OUT/runs/control): from the same lookup checkpoint, only 2K, the
#    tokens of 2k + 8k + 32k (stage control-2k).
#
# Rerun the same command after an interruption: the pipeline skips finished units, a stage whose
# final checkpoint exists is skipped, a stage with a step checkpoint continues with --resume, and
# an evaluation continues from its journal. Every run is `nice -n 19` and one at a time.
# Each phase's wall time is printed and appended to OUT/times.tsv.
#
# Environment: TINY_LWM_SMOKE=1 shrinks everything (smoke-recipe.mjs, the sample books) for the
# test; WORKERS (default 2) ring workers; TINY_LWM_EVAL_LENGTHS overrides the needle lengths;
# TINY_LWM_STAGES (default "lookup 2k 8k 32k"), TINY_LWM_TEMPLATES (default "lwm recall") and
# TINY_LWM_CONTROL=0 choose what runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:-$here/out}" && cd "${1:-$here/out}" && pwd)
workers=${WORKERS:-2}
lwm() { nice -n 19 node "$root/packages/cli/dist/main.js" "$@"; }
[ -f "$root/packages/cli/dist/main.js" ] || { echo "tiny-lwm: build first (npm run build)" >&2; exit 2; }

timed() { # timed LABEL COMMAND…: runs it, prints and records its wall time
  local label=$1 t0 t1
  shift
  t0=$(date +%s)
  "$@"
  t1=$(date +%s)
  echo "tiny-lwm: $label took $((t1 - t0)) s"
  printf '%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$label" "$((t1 - t0))" >>"$out/times.tsv"
}

if [ "${TINY_LWM_SMOKE:-0}" = 1 ]; then
  node "$here/prepare.mjs" "$out/books" --sample
  books=$out/books
  recipe=$out/smoke-recipe.json
  node "$here/smoke-recipe.mjs" "$here/recipe.json" "$books/train" >"$recipe"
  lengths=${TINY_LWM_EVAL_LENGTHS:-256,512}
  lookup_lengths=${TINY_LWM_LOOKUP_LENGTHS:-256}
  grid=(--depths 0,1 --needles 1,2:256 --trials 1 --max-new 8)
else
  node "$here/prepare.mjs"
  books=$here/data
  recipe=$here/recipe.json
  lengths=${TINY_LWM_EVAL_LENGTHS:-2048,4096,8192,16384,32768}
  lookup_lengths=${TINY_LWM_LOOKUP_LENGTHS:-512,2048}
  grid=(--depths 0,0.25,0.5,0.75,1 --needles 1,2:8192 --trials 20,4096:5,16384:5)
fi
haystack=$(ls -d "$books"/haystack/* | paste -sd, -)

timed "build (lwm run)" lwm run "$recipe" --out "$out/data" --threads 2

train_stage() { # train_stage RUN STAGE [lwm train flags…]
  local run=$1 stage=$2 dir=$out/runs/$1 resume=()
  shift 2
  if [ -f "$dir/checkpoints/$stage/final/model.safetensors" ]; then
    echo "tiny-lwm: $run/$stage already trained"
    return
  fi
  if [ -f "$dir/latest.json" ] && grep -q "\"checkpoints/$stage/step-" "$dir/latest.json"; then resume=(--resume); fi
  timed "train $run/$stage" lwm train "$recipe" --data "$out/data" --workers "$workers" --stages "$stage" --out "$dir" "${resume[@]}" "$@"
}

eval_stage() { # eval_stage RUN STAGE TEMPLATE
  local ckpt=$out/runs/$1/checkpoints/$2/final dest=$out/eval/$1-$2-$3 at=$lengths
  [ "$2" = lookup ] && at=$lookup_lengths
  if [ -f "$dest/needle.json" ]; then
    echo "tiny-lwm: $dest already evaluated"
    return
  fi
  timed "eval $1/$2 ($3 template)" lwm eval needle --checkpoint "$ckpt" --haystack "$haystack" --lengths "$at" "${grid[@]}" \
    --template "$3" --workers "$workers" --out "$dest"
}

for stage in ${TINY_LWM_STAGES:-lookup 2k 8k 32k}; do
  train_stage main "$stage"
  for template in ${TINY_LWM_TEMPLATES:-lwm recall}; do eval_stage main "$stage" "$template"; done
done
if [ "${TINY_LWM_CONTROL:-1}" = 1 ]; then
  # The control starts where main's 2k stage started: the lookup stage's final weights.
  train_stage control control-2k --init "$out/runs/main/checkpoints/lookup/final"
  for template in ${TINY_LWM_TEMPLATES:-lwm recall}; do eval_stage control control-2k "$template"; done
fi
echo "tiny-lwm: done; times in $out/times.tsv, heat maps in $out/eval/*/needle.html, loss curves in $out/runs/*/loss.html"
