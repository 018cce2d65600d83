#!/usr/bin/env bash
# Compiles every .cu file of the repository with nvcc for sm_80 and sm_90 (object files only, to a temporary
# folder) and fails on the first compile error. The kernels include only CUDA headers, so this works on a
# machine without a GPU and without torch's CUDA headers. Skipped, with a notice, when nvcc is not on PATH.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v nvcc >/dev/null 2>&1; then
    echo "[cuda] nvcc not on PATH: CUDA kernels not compile-checked"
    exit 0
fi
mapfile -t SOURCES < <(find "$REPO_ROOT/packages" -name '*.cu' -not -path '*/.venv/*' | sort)
[ ${#SOURCES[@]} -gt 0 ] || { echo "[cuda] no .cu files"; exit 0; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for source in "${SOURCES[@]}"; do
    nvcc -std=c++17 -O2 -c "$source" -o "$OUT/$(basename "$source").o" \
        -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
done
echo "[cuda] ${#SOURCES[@]} kernel file(s) compile with $(nvcc --version | tail -1 | sed 's/^Build //') for sm_80 and sm_90"
