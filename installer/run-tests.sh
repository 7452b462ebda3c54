#!/usr/bin/env bash
# The test command: installs what the tests need (system packages, ./.venv with
# an editable install), then runs pytest from the repository root on this
# machine (Debian 12), again inside a Debian 13 root (installer/debian13-root.sh,
# built once and cached by its recipe; needs root), and runs the Windows suite
# (tests/windows/) under Wine 10 in that root (installer/windows/test-wine.sh).
#
#   installer/run-tests.sh                 # whole suite, on Debian 12 and Debian 13, and the Windows suite
#   installer/run-tests.sh tests/system/test_harness.py -x -q
#                                          # pytest arguments go to every suite
#   TRAYRIP_TEST_SYSTEMS=debian12 installer/run-tests.sh ...
#                                          # only the named systems (debian12, debian13, windows)
#
# Exit status: 0 when every suite passed, else the first failing suite's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

systems="${TRAYRIP_TEST_SYSTEMS:-debian12 debian13 windows}"
for system in $systems; do
    case "$system" in
        debian12 | debian13 | windows) ;;
        *) printf 'run-tests: unknown system %q in TRAYRIP_TEST_SYSTEMS (debian12, debian13, windows)\n' "$system" >&2; exit 2 ;;
    esac
done

bash installer/install-debian.sh --dev

status=0
summary=()
for system in $systems; do
    printf '\n==> suite: %s\n' "$system"
    start=$SECONDS
    rc=0
    case "$system" in
        debian12) .venv/bin/python -m pytest -ra "$@" || rc=$? ;;
        debian13) bash installer/debian13-root.sh test -ra "$@" || rc=$? ;;
        windows) bash installer/windows/test-wine.sh -ra "$@" || rc=$? ;;
    esac
    summary+=("$system: $( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - start)) s")
    ((status == 0 && rc != 0)) && status=$rc
done

printf '\n==> suites\n'
printf '  %s\n' "${summary[@]}"
exit "$status"
