#!/usr/bin/env bash
# The project's main job on built-in data: installs everything into .venv (see tools/setup_env.sh), then runs
# the demo and prints where its outputs are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
cd "$REPO_ROOT"
OUT="${1:-$REPO_ROOT/demo-output}"
mkdir -p "$OUT"
insilico-core ops build
insilico-core ops status | tee "$OUT/ops-status.txt"
python tools/bench/ops.py --quick | tee "$OUT/ops-bench.txt"
echo "demo outputs are in $OUT"
