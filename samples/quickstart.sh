#!/usr/bin/env bash
# Sets up a fresh Debian machine (run as root), installs pybuild from this checkout as users install it (a
# wheel, `pip install .`), then builds samples/hello and runs it.
# Debian's own Python refuses system-wide pip installs (PEP 668, "externally managed"): there pybuild goes
# into a virtual environment, .venv in the checkout, whose bin/ holds the `pybuild` command.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt_install() {
    [ -n "${apt_updated:-}" ] || { apt-get update -q; apt_updated=1; }
    apt-get install -y -q "$@"
}
command -v runc >/dev/null && command -v busybox >/dev/null || apt_install runc busybox-static

python=python3
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
if [ -e "$stdlib/EXTERNALLY-MANAGED" ]; then
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    [ -x .venv/bin/python ] || python3 -m venv .venv
    python=.venv/bin/python
    export PATH="$PWD/.venv/bin:$PATH"
fi
"$python" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
"$python" -m pip install -q --disable-pip-version-check .

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
samples/busybox-rootfs.sh "$rootfs"
pybuild import "$rootfs" busybox:latest
cd samples/hello
pybuild build -t hello:1 .
pybuild run --rm hello:1
