#!/usr/bin/env bash
# Builds the Python module `legalops` into ./.venv (maturin develop) and runs its pytest suite.
# Runnable from anywhere on a fresh machine with python3 and cargo; creates .venv on first use.
# The extension builds into the workspace's target/ directory, beside `cargo build`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="$root/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
if [[ ! -x "$venv/bin/maturin" || ! -x "$venv/bin/pytest" ]]; then
    "$venv/bin/pip" install -q --disable-pip-version-check 'maturin>=1.16,<2' pytest
fi

# maturin develop installs into the active virtualenv; activate it for this process only.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

develop=(develop --quiet)
if command -v uv >/dev/null 2>&1; then
    develop+=(--uv)
fi
(cd legalops-py && "$venv/bin/maturin" "${develop[@]}")

"$venv/bin/python" -m pytest -q legalops-py/tests "$@"
