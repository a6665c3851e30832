#!/usr/bin/env bash
# Create .venv and install Dateline with everything it and its tests need. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
# The CPU build of torch first, pinned: otherwise sentence-transformers pulls a CUDA build.
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
    "${PIP[@]}" install "torch==2.13.0"
fi
"${PIP[@]}" install -e ".[dev]"
