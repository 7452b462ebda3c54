#!/usr/bin/env bash
# The test command: installs what the tests need (system packages, ./.venv with
# an editable install), then runs pytest from the repository root.
#
#   installer/run-tests.sh                 # whole suite
#   installer/run-tests.sh tests/system/test_harness.py -x -q
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash installer/install-debian.sh --dev
exec .venv/bin/python -m pytest -ra "$@"
