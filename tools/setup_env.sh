# Sourced by tools/demo.sh and tools/test.sh: creates the virtual environment if absent and installs torch and
# every package of the repository into it (the core editable, so edits take effect without a reinstall).
#
# Environment:
#   INSILICO_VENV    where the environment lives (default: .venv in the repository root)
#   INSILICO_TORCH   the torch requirement to install (default: torch==2.13.0, a CPU wheel on our machines;
#                    e.g. INSILICO_TORCH='torch>=2.1' to take your platform's default build)
#   PYTHON           the interpreter that creates the environment (default: python3)
# Re-running is cheap: the install is skipped while the package metadata and torch requirement are unchanged.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INSILICO_VENV:-$REPO_ROOT/.venv}"
TORCH_REQUIREMENT="${INSILICO_TORCH:-torch==2.13.0}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
VENV_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"

PAPER_PACKAGES=()
for pyproject in "$REPO_ROOT"/packages/*/pyproject.toml; do
    name="$(basename "$(dirname "$pyproject")")"
    [ "$name" = core ] || PAPER_PACKAGES+=("$REPO_ROOT/packages/$name")
done

STAMP="$VENV/.insilico-install-stamp"
WANTED="$( (echo "$TORCH_REQUIREMENT"; cat "$REPO_ROOT"/packages/*/pyproject.toml) | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANTED" ]; then
    echo "[setup] installing $TORCH_REQUIREMENT and the packages (core + ${#PAPER_PACKAGES[@]} papers)"
    pip_install() { "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check "$@"; }
    pip_install --upgrade pip poetry-core
    pip_install "$TORCH_REQUIREMENT"
    pip_install -e "$REPO_ROOT/packages/core[test]"
    if [ ${#PAPER_PACKAGES[@]} -gt 0 ]; then
        # A paper package pulls the core from the sibling folder (a poetry path dependency, installed as a
        # plain copy); reinstall the core editable afterwards so that working-tree edits count.
        for package in "${PAPER_PACKAGES[@]}"; do pip_install -e "$package"; done
        pip_install --no-deps --force-reinstall -e "$REPO_ROOT/packages/core"
    fi
    echo "$WANTED" > "$STAMP"
fi
