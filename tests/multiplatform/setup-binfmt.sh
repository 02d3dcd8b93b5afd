#!/usr/bin/env bash
# Prepares a machine for the multi-platform tests; idempotent, safe to run on every CI start (as root).
#
# 1. qemu-user-static (Debian) for the emulators;
# 2. binfmt_misc mounted, and the qemu handlers registered with the F flag (the kernel opens the interpreter
#    at registration, so it also runs inside containers whose root filesystem lacks it);
# 3. busybox-static for amd64 and arm64, downloaded (not installed) and unpacked with dpkg -x into
#    $PYBUILD_TEST_CACHE/busybox-static/<arch> (default /var/cache/pybuild-tests), the tests' base images.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
CACHE="${PYBUILD_TEST_CACHE:-/var/cache/pybuild-tests}/busybox-static"
BINFMT=/proc/sys/fs/binfmt_misc
ARCHES=(amd64 arm64)
APT=(apt-get -q -o DPkg::Lock::Timeout=600)

if ! dpkg-query -W -f='${Status}' qemu-user-static 2>/dev/null | grep -q "install ok installed"; then
    "${APT[@]}" update
    "${APT[@]}" install -y qemu-user-static
fi

if [ ! -e "$BINFMT/register" ]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT"
fi
[ "$(cat "$BINFMT/status")" = enabled ] || echo 1 > "$BINFMT/status"

# Register every qemu handler from the systemd-binfmt files Debian ships (":name:type:offset:magic:mask:
# interpreter:flags"). A handler already registered with the F flag is kept; one without it is replaced.
for conf in /usr/lib/binfmt.d/qemu-*.conf; do
    line=$(grep -v '^[#;]' "$conf" | grep -m1 '^:' || true)
    [ -n "$line" ] || continue
    name=$(cut -d: -f2 <<<"$line")
    flags=${line##*:}
    [[ "$flags" == *F* ]] || line="${line}F"
    if [ -e "$BINFMT/$name" ]; then
        if grep -q '^flags:.*F' "$BINFMT/$name"; then
            continue
        fi
        echo -1 > "$BINFMT/$name"
    fi
    printf '%s' "$line" > "$BINFMT/register"
done

have_all=1
for arch in "${ARCHES[@]}"; do
    [ -x "$CACHE/$arch/bin/busybox" ] || have_all=0
done
if [ "$have_all" = 0 ]; then
    for arch in "${ARCHES[@]}"; do
        [ "$arch" = "$(dpkg --print-architecture)" ] && continue
        dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
    done
    "${APT[@]}" update
    work=$(mktemp -d)
    chmod 0755 "$work" && chown _apt "$work" 2>/dev/null || true  # apt downloads as _apt when it can
    trap 'rm -rf "$work"' EXIT
    for arch in "${ARCHES[@]}"; do
        [ -x "$CACHE/$arch/bin/busybox" ] && continue
        (cd "$work" && "${APT[@]}" download "busybox-static:$arch")
        rm -rf "$CACHE/$arch.tmp"
        mkdir -p "$CACHE/$arch.tmp"
        dpkg -x "$work"/busybox-static_*_"$arch".deb "$CACHE/$arch.tmp"
        rm -rf "$CACHE/$arch"
        mv "$CACHE/$arch.tmp" "$CACHE/$arch"
    done
fi
echo "binfmt handlers: $(cd "$BINFMT" && ls | grep -c '^qemu-') registered; busybox-static in $CACHE"
