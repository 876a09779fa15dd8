#!/usr/bin/env bash
# Build the payload bench/gpu/mawps_cv_gpu.sh carries to a lent GPU machine, in
# .gpu/ (git-ignored): four calls of at most 64 MiB each.
#   c1: the packages the GPU image lacks (pure Python, plus text2num's cp312 wheel), a spaCy
#       stand-in, the data, the fold labels and GSM8K's labels (base.tar.gz), MPNet's small files
#       and the first quarter of its float16 weights; c2, c3, c4: the other quarters.
# Needs: `make install-mpnet`, the fold labels of a mawps_cv sweep (LABELS_SWEEP), the GSM8K labels.
#   bash bench/gpu/pack.sh
set -euo pipefail
SWEEP=${LABELS_SWEEP:-multirun/mawps_cv/five-fold-s5b}
GSM8K_LABELS=${GSM8K_LABELS:-artifacts/labels/gsm8k-train/smollm2_135m-dataset/default}
DATA=${MYCELIUM_DATA_DIR:-../shared/data}
PY=${PY:-.venv/bin/python}
SP=$($PY -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
MPNET=$(ls -d .cache/models/all-mpnet-base-v2-*/all-mpnet-base-v2 | head -1)
rm -rf .gpu && mkdir -p .gpu/base/pylib .gpu/base/stub/spacy .gpu/base/data/gsm8k .gpu/base/labels .gpu/mpnet .gpu/c{1,2,3,4}
for p in hydra omegaconf antlr4 math_verify latex2sympy2_extended seqeval; do cp -r "$SP/$p" .gpu/base/pylib/; done
cp -r "$SP"/{antlr4_python3_runtime,math_verify,latex2sympy2_extended,omegaconf,hydra_core,seqeval}-*.dist-info .gpu/base/pylib/
find .gpu/base/pylib -name __pycache__ -prune -exec rm -rf {} +
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 -d .gpu/whl "text2num==$($PY -c 'import importlib.metadata as m; print(m.version("text2num"))')"
(cd .gpu/base/pylib && unzip -q -o ../../whl/text2num-*.whl)
printf '"""Stand-in on the GPU machine: the text-alone solver and the wiring student never parse."""\ndef load(*a, **k):\n    raise RuntimeError("spaCy is not installed on the device machine")\n' > .gpu/base/stub/spacy/__init__.py
printf 'class DocBin:\n    def __init__(self, *a, **k):\n        raise RuntimeError("spaCy is not installed on the device machine")\n' > .gpu/base/stub/spacy/tokens.py
cp -r "$DATA/mawps" .gpu/base/data/ && cp "$DATA/gsm8k/test.jsonl" .gpu/base/data/gsm8k/
for k in 0 1 2 3 4; do mkdir -p .gpu/base/labels/fold$k && cp "$SWEEP/$k/labels/"* .gpu/base/labels/fold$k/; done
mkdir -p .gpu/base/labels/gsm8k && cp "$GSM8K_LABELS"/* .gpu/base/labels/gsm8k/
tar -C .gpu/base -czf .gpu/c1/base.tar.gz .
$PY - "$MPNET" <<'PYEOF'
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
src = Path(sys.argv[1])
sd = load_file(src / "model.safetensors")
save_file({k: v.half().contiguous() if v.is_floating_point() else v for k, v in sd.items()},
          ".gpu/mpnet/model.safetensors", metadata={"format": "pt"})
for f in src.iterdir():
    if f.is_file() and f.name != "model.safetensors":
        shutil.copy(f, ".gpu/mpnet/" + f.name)
PYEOF
tar -C .gpu/mpnet --exclude model.safetensors -cf .gpu/c1/mpnet_rest.tar .
(cd .gpu && sha256sum mpnet/model.safetensors > c4/mpnet.sha256 && split -n 4 -d mpnet/model.safetensors mpchunk.)
for i in 0 1 2 3; do mv .gpu/mpchunk.0$i .gpu/c$((i + 1))/; done
du -sh .gpu/c?
