#!/usr/bin/env bash
# Install trayrip on Debian 12 (bookworm) and derivatives.
#
#   installer/install-debian.sh                 # for a user: ~/.local/share/trayrip/venv
#                                               #   + ~/.local/bin/trayrip
#   installer/install-debian.sh --dev           # for development/tests: ./.venv with
#                                               #   `pip install -e ".[test]"` and the
#                                               #   test-harness packages
#   installer/install-debian.sh --venv DIR      # choose the venv location
#   installer/install-debian.sh --skip-apt      # do not touch system packages
#   installer/install-debian.sh --uninstall     # remove what a user install made (venv,
#                                               #   launcher, menu entry, icons, autostart);
#                                               #   settings and recordings stay
#
# Steps (each is skipped when already done, so re-running is cheap):
#   1. apt-get install the packages from installer/debian-packages.txt (and
#      debian-test-packages.txt with --dev) that dpkg says are not installed;
#      uses sudo when not root; runs `apt-get update` once, only if something
#      is missing.
#   2. Create a venv with Debian's /usr/bin/python3 and --system-site-packages,
#      so pystray's AppIndicator/GTK backends can import Debian's python3-gi
#      (PyGObject from pip does not build on Debian 12).
#   3. pip install the project into it.
#   4. (user install) symlink ~/.local/bin/trayrip to the venv's script and
#      say exactly how to get ~/.local/bin on the PATH when it is not;
#   5. (user install) add trayrip to the applications menu:
#      ~/.local/share/applications/trayrip.desktop and the icon in
#      ~/.local/share/icons/hicolor/<N>x<N>/apps/trayrip.png.
# Re-running upgrades: pip reinstalls the project from this checkout.
set -euo pipefail

readonly SYSTEM_PYTHON=/usr/bin/python3
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

DEV=0
SKIP_APT=0
UNINSTALL=0
VENV=""
VENV_ARG=""
while (($#)); do
    case "$1" in
        --dev) DEV=1 ;;
        --skip-apt) SKIP_APT=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --venv)
            (($# >= 2)) || die "--venv needs a directory"
            VENV="$2"
            VENV_ARG=1
            shift
            ;;
        --venv=*) VENV="${1#--venv=}"; VENV_ARG=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

if [[ -z "$VENV" ]]; then
    if ((DEV)); then
        VENV="$ROOT/.venv"
    else
        VENV="${XDG_DATA_HOME:-$HOME/.local/share}/trayrip/venv"
    fi
fi
# Absolute path, without requiring it to exist yet.
[[ "$VENV" == /* ]] || VENV="$PWD/$VENV"
# For the uninstall hint: the same --venv, shell-quoted.
[[ -n "$VENV_ARG" ]] && VENV_ARG=" --venv $(printf '%q' "$VENV")"

DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
BINDIR="$HOME/.local/bin"

# ---------------------------------------------------------------- uninstall

uninstall() {
    ((DEV)) && die "--uninstall is for user installs; a --dev venv is just a folder to delete"
    local f removed=0
    if [[ -L "$BINDIR/trayrip" && "$(readlink "$BINDIR/trayrip")" == "$VENV/bin/trayrip" ]]; then
        rm -f "$BINDIR/trayrip" && say "removed $BINDIR/trayrip" && removed=1
    fi
    for f in "$DATA_HOME/applications/trayrip.desktop" \
        "$DATA_HOME"/icons/hicolor/*/apps/trayrip.png \
        "${XDG_CONFIG_HOME:-$HOME/.config}/autostart/trayrip.desktop"; do
        [[ -e "$f" ]] || continue
        rm -f "$f" && say "removed $f" && removed=1
    done
    if [[ -e "$VENV/pyvenv.cfg" && -e "$VENV/bin/trayrip" ]]; then
        rm -rf "$VENV" && say "removed $VENV" && removed=1
        rmdir "$(dirname "$VENV")" 2>/dev/null || true
    elif [[ -e "$VENV" ]]; then
        warn "$VENV is not a trayrip venv; left alone"
    fi
    command -v update-desktop-database >/dev/null 2>&1 &&
        update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
    ((removed)) || say "nothing to remove (looked for $VENV)"
    say "kept your settings (${XDG_CONFIG_HOME:-$HOME/.config}/trayrip) and recordings; system packages are untouched"
}

if ((UNINSTALL)); then
    uninstall
    exit 0
fi

# ---------------------------------------------------------------- 1. apt

# Package names from a list file: drop comments and blank lines.
read_list() {
    local line
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line%%#*}"
        line="${line//[[:space:]]/}"
        [[ -n "$line" ]] && printf '%s\n' "$line"
    done <"$1"
}

is_installed() {
    local status
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" || return 1
    [[ "$status" == ii* ]]
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "not root and sudo is missing; install as root: $*"
    fi
}

install_apt_packages() {
    command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 ||
        die "dpkg/apt-get not found: this installer is for Debian and derivatives (use --skip-apt to only set up the venv)"

    local lists=("$ROOT/installer/debian-packages.txt")
    ((DEV)) && lists+=("$ROOT/installer/debian-test-packages.txt")

    local -a wanted=() missing=()
    local list pkg
    for list in "${lists[@]}"; do
        [[ -r "$list" ]] || die "package list not found: $list"
        while IFS= read -r pkg; do wanted+=("$pkg"); done < <(read_list "$list")
    done
    for pkg in "${wanted[@]}"; do
        is_installed "$pkg" && continue
        # PulseAudio is only needed by the test harness. On a desktop that runs
        # PipeWire (pipewire-pulse), installing the pulseaudio daemon next to it
        # can break the user's sound session, so leave that to the user.
        if [[ "$pkg" == pulseaudio ]] && is_installed pipewire-pulse &&
            [[ "${TRAYRIP_INSTALL_PULSEAUDIO:-}" != 1 ]]; then
            warn "not installing pulseaudio next to pipewire-pulse; the system tests need the" \
                "pulseaudio binary (set TRAYRIP_INSTALL_PULSEAUDIO=1 to install it anyway)"
            continue
        fi
        missing+=("$pkg")
    done

    if ((${#missing[@]} == 0)); then
        say "system packages: all ${#wanted[@]} installed"
        return
    fi
    say "installing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -qq update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -qq -y \
        -o Dpkg::Use-Pty=0 --no-install-recommends install "${missing[@]}" >/dev/null
    for pkg in "${missing[@]}"; do
        is_installed "$pkg" || die "apt-get did not install $pkg"
    done
}

if ((SKIP_APT)); then
    say "system packages: skipped (--skip-apt)"
else
    install_apt_packages
fi

# ---------------------------------------------------------------- 2. venv

[[ -x "$SYSTEM_PYTHON" ]] || die "$SYSTEM_PYTHON not found (apt-get install python3 python3-venv)"

# pyvenv.cfg value for KEY ("" when absent).
venv_cfg() {
    local key="$1" line
    [[ -r "$VENV/pyvenv.cfg" ]] || return 0
    while IFS= read -r line; do
        if [[ "$line" =~ ^[[:space:]]*${key}[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]]; then
            printf '%s\n' "${BASH_REMATCH[1]}"
            return 0
        fi
    done <"$VENV/pyvenv.cfg"
}

make_venv() {
    local -a flags=(--system-site-packages)
    if [[ -e "$VENV" && ! -e "$VENV/pyvenv.cfg" ]]; then
        if [[ -d "$VENV" && -z "$(ls -A "$VENV")" ]]; then
            :   # an empty directory is fine
        else
            die "$VENV exists and is not a virtual environment; remove it or pass --venv DIR"
        fi
    fi
    if [[ -e "$VENV/pyvenv.cfg" ]]; then
        local home sys_site
        home="$(venv_cfg home)"
        sys_site="$(venv_cfg include-system-site-packages)"
        if [[ "$home" == "$(dirname "$SYSTEM_PYTHON")" && "$sys_site" == true ]] &&
            "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
            say "venv: $VENV (exists)"
            return
        fi
        if [[ "$home" != "$(dirname "$SYSTEM_PYTHON")" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
            # Made by another interpreter (or broken): its packages do not fit.
            say "venv: $VENV was made by '${home:-?}', re-creating it with $SYSTEM_PYTHON"
            flags+=(--clear)
        else
            say "venv: $VENV, enabling system site packages"
        fi
    else
        say "venv: creating $VENV"
        mkdir -p "$(dirname "$VENV")"
    fi
    "$SYSTEM_PYTHON" -m venv "${flags[@]}" "$VENV"
    # Without this the stamp from a previous venv could skip `pip install`.
    rm -f "$VENV/.trayrip-install-stamp"
}

make_venv
"$VENV/bin/python" -c 'import gi' >/dev/null 2>&1 ||
    warn "the venv cannot import gi (python3-gi): the tray will fall back to pystray's xorg backend (no menu)"

# ---------------------------------------------------------------- 3. pip

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
pip_install() {
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet "$@")
}

if ((DEV)); then
    # The editable install only has to be redone when the project metadata
    # changes; sources are picked up live.
    stamp="$VENV/.trayrip-install-stamp"
    want="dev $(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1) $ROOT"
    if [[ -r "$stamp" && "$(<"$stamp")" == "$want" ]] &&
        "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("trayrip")' >/dev/null 2>&1; then
        say "pip: editable install up to date"
    else
        say "pip: install -e \".[test]\" into $VENV"
        rm -f "$stamp"
        pip_install -e ".[test]"
        printf '%s\n' "$want" >"$stamp"
    fi
else
    say "pip: install $ROOT into $VENV"
    # setuptools builds in $ROOT/build and never prunes it (a module deleted
    # from the source would live on in the next wheel): remove it if we made it.
    had_build=0
    [[ -e "$ROOT/build" ]] && had_build=1
    pip_install --upgrade "$ROOT"
    ((had_build)) || rm -rf "$ROOT/build"
fi

# ---------------------------------------------------------------- 4. launcher

if ((!DEV)); then
    bindir="$BINDIR"
    target="$VENV/bin/trayrip"
    [[ -x "$target" ]] || die "pip did not create $target"
    mkdir -p "$bindir"
    if [[ -e "$bindir/trayrip" && ! -L "$bindir/trayrip" ]]; then
        die "$bindir/trayrip exists and is not a symlink; not replacing it"
    fi
    if [[ "$(readlink "$bindir/trayrip" 2>/dev/null || true)" != "$target" ]]; then
        ln -sfn "$target" "$bindir/trayrip"
        say "linked $bindir/trayrip -> $target"
    fi

    # ------------------------------------------------------------ 5. menu
    "$VENV/bin/python" -m trayrip.desktop.menu_entry install --exec "$target" >/dev/null ||
        die "could not write the applications-menu entry into $DATA_HOME"
    say "menu: $DATA_HOME/applications/trayrip.desktop (+ icon in $DATA_HOME/icons/hicolor)"
    command -v update-desktop-database >/dev/null 2>&1 &&
        update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && [[ -e "$DATA_HOME/icons/hicolor/index.theme" ]] &&
        gtk-update-icon-cache -q -t "$DATA_HOME/icons/hicolor" 2>/dev/null || true

    case ":$PATH:" in
        *":$bindir:"*)
            say "done: run 'trayrip' (tray app), or start it from the applications menu" ;;
        *)
            # Debian's ~/.profile puts ~/.local/bin on the PATH at login only if
            # the folder existed then, so a new user's first install is not on it.
            if grep -qs '\.local/bin' "$HOME/.profile"; then
                warn "$bindir is not on this session's PATH yet; ~/.profile adds it from your next login." \
                    "Until then run: export PATH=\"\$HOME/.local/bin:\$PATH\""
            else
                warn "$bindir is not on your PATH. Add it with:" \
                    "echo 'export PATH=\"\$HOME/.local/bin:\$PATH\"' >> ~/.profile  (then log out and in," \
                    "or run that export line in this shell)"
            fi
            say "done: start trayrip from the applications menu, or run $target" ;;
    esac
    say "uninstall: bash $ROOT/installer/install-debian.sh --uninstall${VENV_ARG:-}"
else
    say "done: $VENV/bin/python -m pytest (or installer/run-tests.sh)"
fi
