#!/usr/bin/env bash
# Sets up a fresh Debian machine (run as root), then builds samples/hello and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! command -v runc >/dev/null || ! command -v busybox >/dev/null; then
    apt-get update -q && apt-get install -y -q runc busybox-static
fi
python3 -m pip install -q --disable-pip-version-check -e .
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
samples/busybox-rootfs.sh "$rootfs"
pybuild import "$rootfs" busybox:latest
pybuild -f samples/hello/Buildfile -t hello:1 samples/hello
pybuild run --rm hello:1
