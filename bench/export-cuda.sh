#!/usr/bin/env bash
# bench/export on a CUDA GPU when one is present: the exported packages' step time with --device cuda
# against recc's own backend (which runs on the CPU: gpu.js webasm). Without a GPU it says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${RECC_PYTHON:-python3}"
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "bench/export-cuda: no CUDA device visible to $PY (torch.cuda.is_available() is false); nothing to run"
  exit 0
fi
"$PY" -c 'import torch; print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'
npx tsx bench/export.ts --device cuda "$@"
