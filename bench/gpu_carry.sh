#!/bin/bash
# Prepare what bench/gpu_speed.py needs on the lent GPU machine, which has PyTorch but not fastcore and cannot reach
# the data: a fastcore wheel in .whl/ and MNIST, gzipped, in .gpu_data/MNIST/raw/. Both folders are ignored through
# .git/info/exclude (never committed) and travel with the device call's `carry`. Run from the repo root, then call the
# device tool with carry [".whl", ".gpu_data"] and this command (it fits the 2,000 characters a call takes):
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD VAE_NB_DATA=$PWD/.gpu_data PYTHONUNBUFFERED=1 || exit; nvidia-smi -L; set -o pipefail; python3 bench/gpu_speed.py --out $OUT/gpu_results.json 2>&1 | tee $OUT/gpu_log.txt
#
# then copy the returned gpu_results.json to bench/gpu_results.json.
set -euo pipefail
data=${VAE_NB_DATA:-../shared/data}
mkdir -p .git/info
for p in /.whl/ /.gpu_data/; do grep -qxF "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude; done
version=$(python3 -c "import fastcore; print(fastcore.__version__)")
python3 -m pip download -q --no-deps --only-binary=:all: -d .whl "fastcore==$version"
mkdir -p .gpu_data/MNIST/raw
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ -f "$data/MNIST/raw/$f.gz" ]; then cp "$data/MNIST/raw/$f.gz" .gpu_data/MNIST/raw/
  else gzip -c "$data/MNIST/raw/$f" > .gpu_data/MNIST/raw/$f.gz; fi
done
du -sh .whl .gpu_data
