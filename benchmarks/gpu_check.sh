#!/usr/bin/env bash
# make gpu-check: fashion_lit on a CUDA GPU in one table — the tests marked gpu, T_import,
# the quickstart as one command (fit --test_after_fit true) with each --model.step
# (automatic, lean, cuda_graph), and the training epoch beside the plain tutorial loop and
# the floor (benchmarks/gpu_check.py); medians of 3. About ten minutes on one GPU.
#
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR] [gpu_check.py options]
#   bash benchmarks/gpu_check.sh lightning_logs/gpu-check --repeats 3 --modes lean cuda_graph
#
# It uses .venv when there is one, else python3 (PYTHON=... overrides). On a GPU machine
# without network, run `make gpu-bundle` on a machine with one first: it puts the wheels
# a bare PyTorch image lacks and the FashionMNIST archives into .gpu/, which this script
# installs (into a temporary folder) and acquires from.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-lightning_logs/gpu-check}
shift || true
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .gpu/wheels ]; then
  site=$(mktemp -d)
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$site" .gpu/wheels/*.whl
  export PYTHONPATH="$PYTHONPATH:$site"
fi
if [ -d .gpu/fashion-mnist ]; then
  export FASHION_LIT_SOURCES="$PWD/.gpu/fashion-mnist"
fi
export PYTHONUNBUFFERED=1
"$PYTHON" -m fashion_lit.data --data_dir data
exec "$PYTHON" benchmarks/gpu_check.py --out "$out" "$@"
