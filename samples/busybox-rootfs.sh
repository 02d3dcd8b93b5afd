#!/usr/bin/env bash
# Makes a tiny root filesystem from Debian's busybox-static: /bin/busybox, its applet links, /etc/passwd and
# /etc/group. `pybuild import DIR busybox:latest` turns it into the base image the samples build FROM.
#   samples/busybox-rootfs.sh DIR
set -euo pipefail
dest=${1:?usage: busybox-rootfs.sh DIR}
busybox=$(command -v busybox || echo /bin/busybox)
[ -x "$busybox" ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dest/bin" "$dest/etc" "$dest/tmp" "$dest/root" "$dest/proc" "$dest/sys" "$dest/dev"
chmod 1777 "$dest/tmp"
cp "$busybox" "$dest/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dest/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dest/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dest/etc/group"
