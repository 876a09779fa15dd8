#!/usr/bin/env bash
# experiment=mawps_cv_gpu on a lent GPU machine that has torch/transformers/lightning but no
# spaCy, Hydra or network (the workplace's H200; docs/RESULTS.md "MAWPS five-fold on a GPU").
# The payload (bench/gpu/pack.sh builds it) travels in the git-ignored .gpu/ in parts (64 MiB a call): MPNet's weights as
# float16 in four chunks, the fold labels of five-fold-s5b, GSM8K's default labels, the data,
# pure-Python wheels' packages and a spaCy stand-in (the text-alone solver never parses).
#   bash bench/gpu/pack.sh                     # here, once: builds .gpu/c1 .. c4
#   bash bench/gpu/mawps_cv_gpu.sh unpack      # device call 1, carry [".gpu/c1"]: + an import/config check
#   bash bench/gpu/mawps_cv_gpu.sh chunk 2     # device call 2, carry [".gpu/c2"] (then 3, [".gpu/c3"])
#   bash bench/gpu/mawps_cv_gpu.sh run         # device call 4, carry [".gpu/c4"]: five folds + GSM8K at once
# The machine keeps /tmp/w only while warm (30 s after a call): make the four calls back to back.
# Session 6 (one H200): the run took 362 s; folds 2.7-4.6 min each, GSM8K 3.8 min + two evals.
# Env: W (work dir, /tmp/w), TRAIN_TIME (per training, DD:HH:MM:SS), TRAINER (gpu), LIMIT (eval limit).
set -u
W=${W:-/tmp/w}
OUT=${OUT:-/tmp/out}
TRAIN_TIME=${TRAIN_TIME:-00:00:04:40}
GSM_TIME=${GSM_TIME:-00:00:03:50}
TRAINER=${TRAINER:-gpu}
LIMIT=${LIMIT:-null}
KILL_AFTER=${KILL_AFTER:-450}
PY=${PY:-python3}
mkdir -p "$W" "$OUT"
export PYTHONPATH=$W/base/stub:$W/base/pylib:$PWD MYCELIUM_DATA_DIR=$W/base/data PYTHONUNBUFFERED=1 \
       TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} HYDRA_FULL_ERROR=1
MODEL=${MODEL:-$W/mpnet}
BB="backbone.archive_parts=null backbone.model_id=$MODEL"

case "${1:-}" in
unpack)
  cp .gpu/c1/* "$W/" && mkdir -p "$W/base" "$W/mpnet" && tar -xzf "$W/base.tar.gz" -C "$W/base" \
    && tar -xf "$W/mpnet_rest.tar" -C "$W/mpnet" || exit 1
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch, transformers, lightning, sympy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'lightning', lightning.__version__, 'sympy', sympy.__version__)"
  $PY -c "import train, evaluate, mycelium.solver.solver, mycelium.models.wiring; print('imports ok')" || exit 1
  $PY train.py experiment=mawps_cv_gpu fold=0 $BB --cfg job > "$OUT/cfg.yaml" && echo "config ok" ;;
chunk)
  cp .gpu/c${2:?usage: chunk N}/* "$W/" && ls -la "$W" ;;
run)
  [ -d .gpu/c4 ] && cp .gpu/c4/* "$W/"
  if [ "$MODEL" = "$W/mpnet" ]; then
    cat "$W"/mpchunk.0{0,1,2,3} > "$W/mpnet/model.safetensors" && (cd "$W" && sha256sum -c mpnet.sha256) || exit 1
  fi
  for k in ${FOLDS:-0 1 2 3 4}; do
    timeout -k 10 "$KILL_AFTER" $PY train.py experiment=mawps_cv_gpu fold=$k trainer=$TRAINER $BB \
      'chain.stages=[wiring,evaluate]' chain.labels_dir=$W/base/labels/fold$k chain.eval.labels=false \
      'chain.eval.sets=[mawps_cv/fold${fold}]' chain.eval.limit=$LIMIT \
      +chain.students.wiring.trainer.max_time=$TRAIN_TIME ${EXTRA_FOLD:-} logger=csv hydra.run.dir=$W/runs/$k \
      > "$OUT/fold$k.log" 2>&1 &
  done
  if [ "${GSM8K:-1}" = 1 ]; then
    ( timeout -k 10 "$((KILL_AFTER - 100))" $PY train.py model=wiring backbone=mpnet_base $BB trainer=$TRAINER \
        labels_dir=$W/base/labels/gsm8k trainer.max_epochs=20 +trainer.max_time=$GSM_TIME \
        optim.lr=2.0e-5 datamodule.batch_size=16 test=true ${EXTRA_GSM:-} logger=csv hydra.run.dir=$W/runs/gsm8k \
        export_dir=$W/runs/gsm8k/export/wiring > "$OUT/gsm8k_train.log" 2>&1
      timeout -k 10 120 $PY evaluate.py data=gsm8k split=test limit=$LIMIT students=$W/runs/gsm8k/export \
        solver.deductive_spans=false hydra.run.dir=$W/runs/eval-gsm8k > "$OUT/gsm8k_eval.log" 2>&1 &
      timeout -k 10 120 $PY evaluate.py data=mawps split=test limit=$LIMIT students=$W/runs/gsm8k/export \
        hydra.run.dir=$W/runs/eval-mawps \
        > "$OUT/mawps_eval.log" 2>&1
      wait ) &
  fi
  wait
  nvidia-smi --query-gpu=memory.used --format=csv,noheader
  (cd "$W/runs" && tar --exclude='*/students' --exclude='*/export' --exclude='*.ckpt' --exclude='*/wiring/checkpoints' \
     -czf "$OUT/runs.tar.gz" .) ; ls -la "$OUT" ;;
*) echo "usage: $0 unpack | chunk N | run"; exit 2 ;;
esac
