# Recipe of the "tests" layer of installer/debian13-root.sh: runs inside the
# Debian 13 root as root, with this checkout at /src. It is the project's own
# installer, as a Debian 13 user would run it (plus the test tools).
apt-get -qq update
cd /src
bash installer/install-debian.sh --dev --venv /opt/trayrip-venv
