#!/usr/bin/env bash
# Builds the `signpost` Python module from this checkout (maturin, PyO3 abi3) into a virtual
# environment and runs its tests against a real `signpost serve` (the workspace's debug binary,
# or SIGNPOST_BIN). Everything from PyPI, pinned.
#   python/run-tests.sh [PYTEST_ARGS...]
set -euo pipefail
cd "$(dirname "$0")"
VENV=${SIGNPOST_PY_VENV:-$HOME/.cache/signpost/python-venv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import maturin, pytest' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "maturin==1.9.4" "pytest==8.3.4"
fi
if [ -z "${SIGNPOST_BIN:-}" ] && [ ! -x ../target/debug/signpost ]; then
  (cd .. && cargo build --locked -q -p signpost)
fi
# --no-build-isolation: the maturin just installed builds it (no second download); pip runs it
# from the PATH.
export PATH="$VENV/bin:$PATH"
"$VENV/bin/pip" install -q --no-build-isolation --force-reinstall --no-deps .
"$VENV/bin/python" -m pytest -q tests "$@"
