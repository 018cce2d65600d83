#!/usr/bin/env bash
# Installs everything into .venv (see tools/setup_env.sh), checks that every CUDA kernel compiles with nvcc
# (when nvcc is on PATH), then runs the tests of all packages, or of the ones named:
#   bash tools/test.sh                 # all packages
#   bash tools/test.sh core tagan      # just these
# Extra pytest arguments go after --, e.g. bash tools/test.sh core -- -k upfirdn2d
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
cd "$REPO_ROOT"

PACKAGES=()
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; PYTEST_ARGS=("$@"); break; fi
    PACKAGES+=("$1"); shift
done

TEST_DIRS=()
if [ ${#PACKAGES[@]} -eq 0 ]; then
    for dir in packages/*/tests; do TEST_DIRS+=("$dir"); done
else
    for name in "${PACKAGES[@]}"; do
        [ -d "packages/$name/tests" ] || { echo "tools/test.sh: no package named '$name' (expected packages/$name/tests)" >&2; exit 2; }
        TEST_DIRS+=("packages/$name/tests")
    done
fi

bash tools/check_cuda_compiles.sh

python -m pytest "${TEST_DIRS[@]}" "${PYTEST_ARGS[@]}"
