# Recipe of the "winbuild" layer of installer/debian13-root.sh, built on top of
# the "wine" layer (`layer winbuild ... --on WINE_LAYER`, see
# installer/windows/build.sh): runs inside the Debian 13 root as root, with
# this checkout at /src. It adds the two Windows build tools, pinned, and
# nothing of trayrip itself:
#   * PyInstaller for the Windows CPython of the wine layer: its win_amd64
#     wheels go into /opt/winbuild/site (Z:\opt\winbuild\site, put on
#     PYTHONPATH by build.sh), apart from the site-packages the app is frozen
#     from, so nothing of the build tool can end up in the bundle;
#   * Inno Setup 6 from the npm package `innosetup` (its package/bin/ISCC.exe
#     runs under Wine) in /opt/innosetup, fetched with Debian's npm, which is
#     removed again afterwards;
#   * 32-bit Wine (wine32:i386): ISCC.exe, and the setup programs and
#     uninstallers it makes, are 32-bit Windows programs, which the wine
#     layer's 64-bit-only Wine cannot start (no syswow64). So the installer
#     tests run in this layer too.
readonly PYINSTALLER=(
    pyinstaller==6.22.3
    pyinstaller-hooks-contrib==2026.10
    altgraph==0.17.5
    pefile==2024.8.26
    pywin32-ctypes==0.2.3
)
readonly INNOSETUP=innosetup@6.4.1
# npm's sha1 of that tarball (`npm view innosetup@6.4.1 dist.shasum`).
readonly INNOSETUP_SHA1=3f0f5908a6a0f4c1e47f2b389eaec39dd6ee7976

dpkg --add-architecture i386
apt-get -qq update
apt-get -qq install -y --no-install-recommends npm wine32:i386 libpulse0:i386 >/dev/null

win=(--only-binary :all: --platform win_amd64 --python-version 3.11 --implementation cp --abi cp311)
# --no-deps: the markers of PyInstaller's Windows-only dependencies would be
# evaluated for this Linux host; they are all named above instead.
python3 -m pip install -q --no-cache-dir --no-compile --break-system-packages --no-deps \
    --target /opt/winbuild/site "${win[@]}" "${PYINSTALLER[@]}"

dl=/var/tmp/innosetup
mkdir -p "$dl"
cd "$dl"
npm config set cafile "$SSL_CERT_FILE"
npm pack --silent "$INNOSETUP" >/dev/null
tarball="$(ls "$dl"/innosetup-*.tgz)"
echo "$INNOSETUP_SHA1  $tarball" | sha1sum -c --quiet
rm -rf /opt/innosetup
mkdir -p /opt/innosetup
tar -xzf "$tarball" -C /opt/innosetup --strip-components=1
test -f /opt/innosetup/bin/ISCC.exe
cd /
rm -rf "$dl" /root/.npm /root/.npmrc /root/.cache

apt-get -qq purge -y --auto-remove npm >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/*

export WINEPREFIX=/opt/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# A new prefix, made with 32-bit Wine present: the wine layer's one has an
# empty syswow64 that `wineboot -u` cannot fill ("could not load kernel32.dll").
rm -rf "$WINEPREFIX"
wineboot -u
wineserver -w
# Smoke tests: both tools work under Wine (ISCC compiles a tiny script).
PYTHONPATH='Z:\opt\winbuild\site' wine /opt/winpython/python.exe -m PyInstaller --version
smoke=/var/tmp/iss-smoke
mkdir -p "$smoke"
printf '[Setup]\nAppName=smoke\nAppVersion=1\nDefaultDirName={tmp}\\smoke\nOutputDir=Z:\\var\\tmp\\iss-smoke\nOutputBaseFilename=smoke\nPrivilegesRequired=lowest\n[Files]\nSource: "Z:\\var\\tmp\\iss-smoke\\smoke.iss"; DestDir: "{app}"\n' >"$smoke/smoke.iss"
wine /opt/innosetup/bin/ISCC.exe /Q 'Z:\var\tmp\iss-smoke\smoke.iss'
test -s "$smoke/smoke.exe"
rm -rf "$smoke"
wineserver -w
