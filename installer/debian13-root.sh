#!/usr/bin/env bash
# A Debian 13 (trixie) root on this machine, to run trayrip's tests on the
# current Debian stable (and, with Wine 10, its Windows code) from a Debian 12
# host. Needs root (debootstrap, mounts, chroot) and the Debian registry.
#
#   installer/debian13-root.sh base              # build (or reuse) the base root; prints its folder
#   installer/debian13-root.sh layer NAME RECIPE [FILE ...]
#                                                # a layer on the base: RECIPE (a bash script) runs
#                                                #   inside as root with the checkout at /src; cached,
#                                                #   keyed by the base, RECIPE and FILEs; prints its folder
#   installer/debian13-root.sh layer NAME RECIPE --on LAYER [FILE ...]
#                                                # the same on top of a built LAYER (a folder printed
#                                                #   by `layer`), keyed by it too; `run` stacks both
#   installer/debian13-root.sh run LAYER [--bind SRC:DST ...] [--env K=V ...] -- CMD [ARG ...]
#                                                # run CMD in base+LAYER with a throwaway top layer
#   installer/debian13-root.sh test [PYTEST ARGS]
#                                                # the whole suite inside Debian 13: the "tests" layer
#                                                #   is this project's install-debian.sh --dev
#   installer/debian13-root.sh clean             # remove every cached root and layer
#
# How it is made:
#   * base: `debootstrap --variant=minbase trixie` from the Debian mirror apt
#     already uses, plus the host's CA bundle (pip and apt go through it here).
#   * a layer is an overlayfs upper folder over the base, built once by running
#     its recipe in a chroot; nothing the recipe does touches the base.
#   * `run` stacks base + layer + a fresh, deleted-afterwards upper folder in a
#     private mount namespace (unshare -m), so a crash leaves no mounts behind
#     and no run changes the cache. Commands run under `env -i`: the host's
#     environment (PATH, PIP_*, XDG_*) does not leak into the root.
#   * Everything lives in ${TRAYRIP_ROOT_CACHE:-/var/cache/trayrip/roots},
#     one folder per recipe hash; a recipe change builds a new folder and the
#     old ones are removed once the new one is complete.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly SELF="$ROOT/installer/debian13-root.sh"
readonly CACHE="${TRAYRIP_ROOT_CACHE:-/var/cache/trayrip/roots}"
readonly SUITE=trixie
# In-root PATH: Debian's, nothing from the host.
readonly ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# Where the host's bundle goes inside: not Debian's own path, which the
# ca-certificates package regenerates from its own list when a layer installs it.
readonly ROOT_CA=/etc/ssl/host-ca-bundle.crt

say() { printf '==> debian13: %s\n' "$*" >&2; }
die() { printf 'debian13-root: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'
}

need_root() {
    ((EUID == 0)) || die "needs root (debootstrap, mounts and chroot); run it as root or with sudo"
}

# The mirror apt already uses on this host (deb822 or one-line sources), so the
# root comes from the same registry; falls back to Debian's own.
host_mirror() {
    local url=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        url="$(awk 'tolower($1)=="uris:" {print $2; exit}' /etc/apt/sources.list.d/*.sources)"
    fi
    if [[ -z "$url" && -r /etc/apt/sources.list ]]; then
        url="$(awk '$1=="deb" && $2 !~ /^\[/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
    fi
    # The security archive is another tree; debootstrap needs the main one.
    [[ -z "$url" || "$url" == *security* ]] && url="http://deb.debian.org/debian"
    printf '%s\n' "${url%/}"
}

# sha256 over strings and files, short.
recipe_hash() {
    {
        local item
        for item in "$@"; do
            if [[ -f "$item" ]]; then
                printf 'file %s\n' "$(basename "$item")"
                cat "$item"
            else
                printf 'text %s\n' "$item"
            fi
        done
    } | sha256sum | cut -c1-16
}

# The base recipe is this script's base_recipe function plus the suite and mirror.
base_key() {
    recipe_hash "$SUITE" "$(host_mirror)" "$(declare -f build_base)"
}

build_base() {
    local dir="$1" mirror="$2"
    command -v debootstrap >/dev/null 2>&1 ||
        die "debootstrap is not installed (apt-get install debootstrap; installer/debian-test-packages.txt lists it)"
    say "debootstrap --variant=minbase $SUITE from $mirror (about a minute)"
    debootstrap --variant=minbase "$SUITE" "$dir/root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
        die "debootstrap failed; its log: $dir/debootstrap.log ($(tail -n 2 "$dir/debootstrap.log" | tr '\n' ' '))"
    # Same mirror for apt inside, and no recommends: layers stay small.
    printf 'deb %s %s main\n' "$mirror" "$SUITE" >"$dir/root/etc/apt/sources.list"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        >"$dir/root/etc/apt/apt.conf.d/90trayrip-no-recommends"
    # The host's CA bundle: pip (and https in general) goes through it here.
    if [[ -r "$CA_BUNDLE" ]]; then
        mkdir -p "$dir/root/etc/ssl"
        cp "$CA_BUNDLE" "$dir/root$ROOT_CA"
    fi
    # A machine id: D-Bus and PipeWire want one.
    [[ -s "$dir/root/etc/machine-id" ]] || tr -d '-' </proc/sys/kernel/random/uuid >"$dir/root/etc/machine-id"
}

# Remove the folders of older recipes named PREFIX-* except KEEP (a folder
# whose lock another process holds is in use and stays).
prune_old() {
    local prefix="$1" keep="$2" d
    for d in "$CACHE/$prefix"-*; do
        [[ -d "$d" && "$d" != "$keep" ]] || continue
        flock -n "$d/.lock" true 2>/dev/null || continue
        say "removing an old root: $d"
        rm -rf --one-file-system "$d"
    done
}

# Build (once) and print the base folder; its root is $dir/root.
ensure_base() {
    need_root
    local key dir mirror
    mirror="$(host_mirror)"
    key="$(base_key)"
    dir="$CACHE/base-$key"
    mkdir -p "$dir"
    exec {lock}>"$dir/.lock"
    flock "$lock"
    if [[ ! -e "$dir/.done" ]]; then
        rm -rf --one-file-system "$dir/root"
        local t0=$SECONDS
        build_base "$dir" "$mirror"
        touch "$dir/.done"
        say "base root built in $((SECONDS - t0)) s: $dir/root ($(du -sh "$dir/root" | cut -f1))"
        prune_old base "$dir"
    fi
    exec {lock}>&-
    printf '%s\n' "$dir"
}

# The mounts every chroot needs, under MNT (in the caller's mount namespace).
mount_system() {
    local mnt="$1" d
    for d in proc sys dev dev/pts dev/shm; do mkdir -p "$mnt/$d"; done
    mount -t proc proc "$mnt/proc"
    mount --rbind /sys "$mnt/sys"
    mount --make-rslave "$mnt/sys"
    mount --bind /dev "$mnt/dev"
    mount --bind /dev/pts "$mnt/dev/pts"
    # A private /dev/shm: PipeWire and PulseAudio put their memfds there, and the
    # host's must not be shared with the root's servers.
    mount -t tmpfs -o mode=1777,nosuid,nodev shm "$mnt/dev/shm"
    # DNS for apt and pip.
    [[ -r /etc/resolv.conf ]] && cp /etc/resolv.conf "$mnt/etc/resolv.conf" 2>/dev/null || true
}

# In a private mount namespace: overlay LOWER (colon list) with UPPER at a new
# mount point, bind the checkout at /src and EXTRA binds, and chroot into it
# under env -i with ENV entries. Arguments after -- are the command.
#   in_root LOWER UPPER WORK [--bind SRC:DST]... [--env K=V]... -- CMD...
in_root() {
    local lower="$1" upper="$2" work="$3"
    shift 3
    local -a binds=() envs=()
    while (($#)); do
        case "$1" in
            --bind) binds+=("$2"); shift 2 ;;
            --env) envs+=("$2"); shift 2 ;;
            --) shift; break ;;
            *) die "in_root: unexpected $1" ;;
        esac
    done
    (($#)) || die "no command to run"
    local mnt
    mnt="$(mktemp -d "${TMPDIR:-/var/tmp}/trayrip-debian13-mnt.XXXXXX")"
    # The inner shell does the mounts; when it ends the namespace and every
    # mount in it are gone, whatever happened.
    local rc=0
    unshare --mount --propagation private -- bash -euo pipefail -c '
        mnt="$1" lower="$2" upper="$3" work="$4" src="$5" funcs="$6" nb="$7"
        shift 7
        eval "$funcs"
        mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$mnt"
        mount_system "$mnt"
        for ((i = 0; i < nb; i++)); do
            spec="$1"; shift
            s="${spec%%:*}" d="${spec#*:}"
            mkdir -p "$mnt$d"
            mount --bind "$s" "$mnt$d"
        done
        mkdir -p "$mnt/src"
        mount --bind "$src" "$mnt/src"
        exec chroot "$mnt" "$@"
    ' bash "$mnt" "$lower" "$upper" "$work" "$ROOT" "$(declare -f mount_system)" \
        "${#binds[@]}" "${binds[@]}" \
        /usr/bin/env -i "PATH=$ROOT_PATH" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        "SSL_CERT_FILE=$ROOT_CA" "PIP_CERT=$ROOT_CA" \
        ${CI:+CI=$CI} "${envs[@]}" "$@" || rc=$?
    rmdir "$mnt" 2>/dev/null || true
    return "$rc"
}

# The lower folders under LAYER's own upper folder (colon list): the base
# root, or for a layer built --on another, that one's stack.
layer_lowers() {
    local layer="$1" base
    if [[ -s "$layer/lowers" ]]; then
        cat "$layer/lowers"
    else
        base="$(ensure_base)"
        printf '%s\n' "$base/root"
    fi
}

# Build (once) and print a layer folder; its upper folder is $dir/upper.
#   ensure_layer NAME RECIPE [--on LAYER] [FILE...]
ensure_layer() {
    local name="$1" recipe="$2" parent=""
    shift 2
    if [[ "${1:-}" == --on ]]; then
        parent="${2:-}"
        [[ -e "$parent/.done" ]] || die "--on needs a built layer folder: $parent"
        shift 2
    fi
    [[ "$name" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "a layer name is lower-case letters, digits and -: $name"
    [[ -r "$recipe" ]] || die "no such recipe: $recipe"
    recipe="$(realpath "$recipe")"
    [[ "$recipe" == "$ROOT"/* ]] || die "a recipe lives in this checkout (it runs as /src/...): $recipe"
    local base key dir lowers
    base="$(ensure_base)"
    if [[ -n "$parent" ]]; then
        lowers="$parent/upper:$(layer_lowers "$parent")"
        key="$(recipe_hash "$(basename "$base")" "on $(basename "$parent")" "$recipe" "$@")"
    else
        lowers="$base/root"
        key="$(recipe_hash "$(basename "$base")" "$recipe" "$@")"
    fi
    dir="$CACHE/$name-$key"
    # A finished layer is used as is: the lock only orders builders (and a
    # long-running process that inherited it must not hold up every start).
    if [[ -e "$dir/.done" ]]; then
        printf '%s\n' "$dir"
        return 0
    fi
    [[ -n "$parent" ]] && hold_layers "$parent"
    mkdir -p "$dir"
    exec {lock}>"$dir/.lock"
    flock "$lock"
    if [[ ! -e "$dir/.done" ]]; then
        rm -rf --one-file-system "$dir/upper" "$dir/work"
        mkdir -p "$dir/upper" "$dir/work"
        local t0=$SECONDS
        say "building layer '$name' ($recipe)"
        # The recipe sees the checkout at /src and runs as root.
        in_root "$lowers" "$dir/upper" "$dir/work" --env DEBIAN_FRONTEND=noninteractive \
            -- bash -euo pipefail "/src/${recipe#"$ROOT"/}" >"$dir/build.log" 2>&1 ||
            die "layer '$name' failed; its log: $dir/build.log
$(tail -n 15 "$dir/build.log")"
        rm -rf "$dir/work"
        [[ -n "$parent" ]] && printf '%s\n' "$lowers" >"$dir/lowers"
        touch "$dir/.done"
        say "layer '$name' built in $((SECONDS - t0)) s: $dir ($(du -sh "$dir/upper" | cut -f1))"
        prune_old "$name" "$dir"
    fi
    exec {lock}>&-
    printf '%s\n' "$dir"
}

# Hold LAYER and the layers under it (shared locks, until this script ends), so
# that prune_old, run for a newer recipe by another checkout, leaves them alone.
hold_layers() {
    local d fd
    for d in "$1" $(layer_lowers "$1" | tr ':' '\n' | sed -n 's#/upper$##p'); do
        exec {fd}>>"$d/.lock"
        flock -s "$fd"
    done
}

# Run a command in base + LAYER + a throwaway upper folder.
run_in_layer() {
    local layer="$1"
    shift
    [[ -e "$layer/.done" ]] || die "not a built layer: $layer"
    hold_layers "$layer"
    local lowers
    lowers="$(layer_lowers "$layer")"
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/var/tmp}/trayrip-debian13-run.XXXXXX")"
    mkdir -p "$tmp/upper" "$tmp/work"
    local rc=0
    in_root "$layer/upper:$lowers" "$tmp/upper" "$tmp/work" "$@" || rc=$?
    rm -rf --one-file-system "$tmp"
    return "$rc"
}

# The "tests" layer: the project's own installer (system packages of both
# lists, the venv with an editable install of /src) run inside Debian 13.
# Keyed by what the installer reads, so a new package or dependency rebuilds it.
tests_layer() {
    ensure_layer tests "$ROOT/installer/debian13-tests-layer.sh" \
        "$ROOT/installer/install-debian.sh" \
        "$ROOT/installer/debian-packages.txt" \
        "$ROOT/installer/debian-test-packages.txt" \
        "$ROOT/pyproject.toml"
}

run_tests() {
    local layer t0=$SECONDS
    layer="$(tests_layer)"
    say "set-up took $((SECONDS - t0)) s; running the suite inside Debian 13"
    # The venv is in the layer (/opt/trayrip-venv, editable: /src is this
    # checkout); re-running the installer only checks that all is there.
    run_in_layer "$layer" -- bash -euo pipefail -c '
        cd /src
        bash installer/install-debian.sh --dev --venv /opt/trayrip-venv >/dev/null
        exec /opt/trayrip-venv/bin/python -m pytest -p no:cacheprovider "$@"
    ' bash "$@"
}

cmd="${1:-}"
(($#)) && shift
case "$cmd" in
    base) ensure_base ;;
    layer)
        (($# >= 2)) || die "usage: layer NAME RECIPE [FILE ...]"
        ensure_layer "$@"
        ;;
    run)
        (($# >= 1)) || die "usage: run LAYER [--bind SRC:DST] [--env K=V] -- CMD ..."
        run_in_layer "$@"
        ;;
    test) need_root; run_tests "$@" ;;
    clean)
        need_root
        [[ -d "$CACHE" ]] && rm -rf --one-file-system "$CACHE" && say "removed $CACHE"
        ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
