#!/usr/bin/env bash
# The Windows build, made on Linux: trayrip.exe (the tray app, no console) and
# trayrip-cli.exe with PyInstaller on the Windows CPython under Wine 10, then
# the per-user setup program with Inno Setup 6, inside the Debian 13 root of
# installer/debian13-root.sh (layers "wine" and "winbuild" on it; recipes
# installer/windows/wine-layer.sh and winbuild-layer.sh, built once and cached).
# Needs root, like the Debian 13 suite.
#
#   installer/windows/build.sh                  # dist/trayrip-setup-<version>.exe (version from pyproject.toml)
#   installer/windows/build.sh --version 0.2.0  # the setup program says 0.2.0
#   installer/windows/build.sh --out DIR        # put the setup program into DIR instead of dist/
#   installer/windows/build.sh --quick ...      # faster, larger compression (lzma2/fast), for throwaway builds
#
# Both steps are cached in ${TRAYRIP_BUILD_CACHE:-/var/cache/trayrip/winbuild}:
# the PyInstaller folder keyed by the layer and every file that goes into it
# (trayrip/, icons/, the spec, launch.py, pyproject.toml, this script), the setup
# program by that key, trayrip.iss and the version. A warm run copies a file.
# Beside each PyInstaller folder: files.txt, the sorted list of what it holds,
# and dist/trayrip-modules.txt, the Python modules inside the programs; both
# are copied beside the setup program.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly ROOT
readonly CACHE="${TRAYRIP_BUILD_CACHE:-/var/cache/trayrip/winbuild}"
readonly WIN="$ROOT/installer/windows"

say() { printf '==> winbuild: %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

version="" out="$ROOT/dist" compression=lzma2/max
while (($#)); do
    case "$1" in
        --version) version="${2:?--version needs a value}"; shift 2 ;;
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --quick) compression=lzma2/fast; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
((EUID == 0)) || die "needs root (the Debian 13 root: mounts and chroot); run it as root or with sudo"
if [[ -z "$version" ]]; then
    version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/pyproject.toml" | head -n 1)"
    [[ -n "$version" ]] || die "no version = \"...\" in pyproject.toml"
fi
[[ "$version" =~ ^[0-9]+(\.[0-9]+){1,3}$ ]] || die "a version is 2 to 4 numbers with dots (Windows needs that): $version"

t0=$SECONDS
wine_layer="$(bash "$ROOT/installer/debian13-root.sh" layer wine "$WIN/wine-layer.sh")"
layer="$(bash "$ROOT/installer/debian13-root.sh" layer winbuild "$WIN/winbuild-layer.sh" --on "$wine_layer")"

# What goes into the bundle: tracked and new (not ignored) files, or every file
# when this is not a git checkout.
inputs() {
    local -a paths=(trayrip icons installer/windows/trayrip.spec installer/windows/launch.py
        installer/windows/build.sh pyproject.toml)
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -co --exclude-standard -- "${paths[@]}"
    else
        (cd "$ROOT" && find "${paths[@]}" -type f -not -path '*/__pycache__/*')
    fi | LC_ALL=C sort
}

hash_of() { sha256sum | cut -c1-16; }

app_key="$({
    printf 'layer %s\n' "$(basename "$layer")"
    while IFS= read -r f; do
        [[ -f "$ROOT/$f" ]] && printf '%s %s\n' "$(sha256sum <"$ROOT/$f" | cut -c1-64)" "$f"
    done < <(inputs)
} | hash_of)"
setup_key="$({
    printf '%s\n' "$app_key" "$version" "$compression"
    cat "$WIN/trayrip.iss"
} | hash_of)"

# Run CMD in the winbuild layer with FOLDER at /out (read-write) and more binds.
# (Without the build lock: a wineserver that outlives its command must not hold it.)
in_winbuild() {
    bash "$ROOT/installer/debian13-root.sh" run "$layer" \
        --env WINEPREFIX=/opt/wineprefix --env WINEDEBUG=-all --env "WINEDLLOVERRIDES=mscoree,mshtml=" \
        --env PYTHONDONTWRITEBYTECODE=1 --env 'PYTHONPYCACHEPREFIX=C:\pycache' --env PYTHONHASHSEED=0 \
        --env SOURCE_DATE_EPOCH=1700000000 "$@" {lock}>&-
}

mkdir -p "$CACHE"
exec {lock}>"$CACHE/.lock"
flock -w 1800 "$lock" || die "another build has held $CACHE/.lock for 30 minutes: is one stuck? (fuser -v $CACHE/.lock)"

app="$CACHE/app-$app_key"
if [[ ! -e "$app/.done" ]]; then
    rm -rf --one-file-system "$app"
    mkdir -p "$app"
    say "PyInstaller (cold build, a few minutes): log $app/build.log"
    t1=$SECONDS
    # The Windows Python finds the checkout through the wine layer's
    # trayrip-src.pth (Z:\src); PyInstaller itself only through PYTHONPATH.
    in_winbuild --bind "$app:/out" --env 'PYTHONPATH=Z:\opt\winbuild\site' -- bash -euo pipefail -c '
        wine /opt/winpython/python.exe -m PyInstaller --noconfirm --clean --log-level WARN \
            --distpath "Z:\\out\\dist" --workpath "C:\\pyi-build" "Z:\\src\\installer\\windows\\trayrip.spec"
        wineserver -w
    ' >"$app/build.log" 2>&1 || die "PyInstaller failed; its log: $app/build.log
$(tail -n 20 "$app/build.log")"
    [[ -f "$app/dist/trayrip/trayrip.exe" && -f "$app/dist/trayrip/trayrip-cli.exe" && -s "$app/dist/trayrip-modules.txt" ]] ||
        die "PyInstaller made no trayrip.exe/trayrip-cli.exe; its log: $app/build.log"
    (cd "$app/dist/trayrip" && find . -type f -printf '%P\n' | LC_ALL=C sort) >"$app/files.txt"
    touch "$app/.done"
    say "PyInstaller took $((SECONDS - t1)) s: $(wc -l <"$app/files.txt") files, $(du -sh "$app/dist/trayrip" | cut -f1)"
fi

setup="$CACHE/setup-$setup_key"
name="trayrip-setup-$version.exe"
if [[ ! -e "$setup/.done" ]]; then
    rm -rf --one-file-system "$setup"
    mkdir -p "$setup"
    say "Inno Setup: $name"
    in_winbuild --bind "$setup:/out" --bind "$app/dist:/app" -- \
        wine /opt/innosetup/bin/ISCC.exe /Q "/DAppVersion=$version" "/DDistDir=Z:\\app\\trayrip" "/DCompression=$compression" \
        "/OZ:\\out" "Z:\\src\\installer\\windows\\trayrip.iss" >"$setup/build.log" 2>&1 ||
        die "Inno Setup failed; its log: $setup/build.log
$(tail -n 20 "$setup/build.log")"
    [[ -f "$setup/$name" ]] || die "Inno Setup made no $name; its log: $setup/build.log"
    touch "$setup/.done"
fi

# Older builds go, except the newest few (tests build two versions).
touch "$app" "$setup"
for d in $(ls -dt "$CACHE"/app-* 2>/dev/null | tail -n +3) $(ls -dt "$CACHE"/setup-* 2>/dev/null | tail -n +5); do
    rm -rf --one-file-system "$d"
done
exec {lock}>&-

mkdir -p "$out"
cp "$setup/$name" "$out/$name.tmp"
mv -f "$out/$name.tmp" "$out/$name"
cp "$app/files.txt" "$out/trayrip-files.txt"
cp "$app/dist/trayrip-modules.txt" "$out/trayrip-modules.txt"
say "$out/$name ($(du -h "$out/$name" | cut -f1); bundle $(du -sh "$app/dist/trayrip" | cut -f1) in $(wc -l <"$app/files.txt") files) in $((SECONDS - t0)) s"
printf '%s\n' "$out/$name"
