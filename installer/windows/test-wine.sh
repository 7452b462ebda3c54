#!/usr/bin/env bash
# The Windows suite: trayrip's Windows code in a Windows CPython under Wine 10,
# inside the Debian 13 root of installer/debian13-root.sh with its "wine" layer
# (recipe: installer/windows/wine-layer.sh; built once, cached by the recipe).
# Needs root, like the Debian 13 suite.
#
#   installer/windows/test-wine.sh [PYTEST ARGS]   # tests/windows/ (or the tests/windows/ files named)
#
# With the installer tests (tests/windows/test_installer_windows.py, part of
# the whole folder) it first builds the setup programs with
# installer/windows/build.sh (cached: seconds when nothing changed, about
# 5 minutes cold) and runs in the "winbuild" layer, which adds 32-bit Wine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
t0=$SECONDS
layer="$(bash installer/debian13-root.sh layer wine installer/windows/wine-layer.sh)"
printf '==> windows: set-up took %s s (layer %s); running tests/windows under Wine\n' \
    "$((SECONDS - t0))" "$(basename "$layer")" >&2

# Arguments of other suites' paths (tests/system/...) are not for this one.
args=() paths=0 ours=0
for a in "$@"; do
    case "$a" in
        -*) args+=("$a") ;;
        tests/windows*) args+=("/src/$a"); paths=$((paths + 1)); ours=$((ours + 1)) ;;
        tests/* | *.py | *::*) paths=$((paths + 1)) ;;
        *) args+=("$a") ;;
    esac
done
if ((paths > 0 && ours == 0)); then
    printf '==> windows: no tests/windows paths among the arguments; nothing to run\n' >&2
    exit 0
fi
((ours == 0)) && args+=(/src/tests/windows)

# The installer tests get the setup programs (installer/windows/build.sh, cached)
# and run in the winbuild layer: the setup programs are 32-bit, and only that
# layer (on top of the wine layer) has 32-bit Wine.
setup=()
if ((ours == 0)) || [[ " $* " == *" tests/windows/test_installer"* ]]; then
    layer="$(bash installer/debian13-root.sh layer winbuild installer/windows/winbuild-layer.sh --on "$layer")"
    setups="$(mktemp -d "${TMPDIR:-/var/tmp}/trayrip-setups.XXXXXX")"
    trap 'rm -rf "$setups"' EXIT
    version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' pyproject.toml | head -n 1)"
    bash installer/windows/build.sh --out "$setups" >/dev/null
    # The newer version only for the upgrade test: fast compression will do.
    bash installer/windows/build.sh --out "$setups" --version "$version.1" --quick >/dev/null
    setup=(--bind "$setups:/opt/trayrip-setups" --env "TRAYRIP_SETUP=/opt/trayrip-setups/trayrip-setup-$version.exe"
        --env "TRAYRIP_SETUP_NEWER=/opt/trayrip-setups/trayrip-setup-$version.1.exe")
fi

bash installer/debian13-root.sh run "$layer" --env TRAYRIP_WINDOWS_SUITE=1 --env WINEPREFIX=/opt/wineprefix "${setup[@]}" -- \
    python3 -m pytest -p no:cacheprovider -c /src/tests/windows/pytest.ini --rootdir /src/tests/windows \
    --confcutdir /src/tests/windows "${args[@]}"
