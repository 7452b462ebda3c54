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
#   TRAYRIP_TEST_JOBS=1 installer/run-tests.sh
#                                          # one suite after the other, output as it comes
#
# By default the Debian 12 suite runs beside the other two (Debian 13, then
# Windows), each into its own log, printed whole when it ends: the suites
# mostly wait for real-time audio, so two at a time take about half as long
# on two cores, and the load is no more than the two CPU hogs the suite is
# checked against. Exit status: 0 when every suite passed, else the first
# failing suite's.
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
jobs="${TRAYRIP_TEST_JOBS:-2}"
[[ "$jobs" == 1 || "$jobs" == 2 ]] || { printf 'run-tests: TRAYRIP_TEST_JOBS is 1 or 2, not %q\n' "$jobs" >&2; exit 2; }

bash installer/install-debian.sh --dev

run_system() {
    local system="$1"
    shift
    case "$system" in
        debian12) .venv/bin/python -m pytest -ra "$@" ;;
        debian13) bash installer/debian13-root.sh test -ra "$@" ;;
        windows) bash installer/windows/test-wine.sh -ra "$@" ;;
    esac
}

logs="$(mktemp -d "${TMPDIR:-/tmp}/trayrip-tests.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

# One lane: its systems one after the other; each one's exit status and time
# go into $logs/SYSTEM.rc and .time, its output to stdout (the caller redirects).
run_lane() {
    local system rc start
    for system in "$@"; do
        printf '\n==> suite: %s\n' "$system"
        start=$SECONDS
        rc=0
        run_system "$system" "${pytest_args[@]}" || rc=$?
        printf '%s\n' "$rc" >"$logs/$system.rc"
        printf '%s\n' "$((SECONDS - start))" >"$logs/$system.time"
    done
}

pytest_args=("$@")
lane_a=() lane_b=()
for system in $systems; do
    if [[ "$jobs" == 2 && "$system" == debian12 ]]; then lane_a+=("$system"); else lane_b+=("$system"); fi
done

if ((${#lane_a[@]})); then
    printf '==> running %s beside %s (TRAYRIP_TEST_JOBS=1: one after the other); their output follows as each ends\n' \
        "${lane_a[*]}" "${lane_b[*]:-nothing}"
    run_lane "${lane_a[@]}" >"$logs/lane-a.log" 2>&1 &
    pid_a=$!
    if ((${#lane_b[@]})); then
        run_lane "${lane_b[@]}" >"$logs/lane-b.log" 2>&1 || true
        cat "$logs/lane-b.log"
    fi
    wait "$pid_a" || true
    cat "$logs/lane-a.log"
else
    run_lane "${lane_b[@]}"
fi

status=0
printf '\n==> suites\n'
for system in $systems; do
    rc="$(cat "$logs/$system.rc" 2>/dev/null || echo 1)"
    printf '  %s: %s in %s s\n' "$system" "$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)")" \
        "$(cat "$logs/$system.time" 2>/dev/null || echo '?')"
    ((status == 0 && rc != 0)) && status=$rc
done
exit "$status"
