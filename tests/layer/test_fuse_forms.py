"""fuse-overlayfs' upperdir forms, rewritten into the kernel's (`to_kernel_form`), make the kernel's layer tar.

Real fuse-overlayfs mounts are tested in tests/runtime/test_overlay_modes.py; this covers the forms a
machine here does not produce: ``.wh.<name>`` files (where mknod is refused) and the opaque marker kept only
as a file or as ``user.fuseoverlayfs.opaque``.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

from builder.layer import write_layer
from builder.layer.whiteouts import XATTR_OPAQUE, to_kernel_form
from builder.runtime.lowerview import lookup

PAST = 1_400_000_000


def _lower(root: Path) -> Path:
    for d in ("etc", "opq", "made-by-fuse-parent"):
        (root / d).mkdir(parents=True)
    for name in ("etc/passwd", "etc/gone", "opq/old", "gone"):
        (root / name).write_text(name)
    return root


def _entries(upper: Path) -> list[tuple]:
    out = io.BytesIO()
    write_layer(upper, out, compression="none")
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        return [(m.name, m.type, m.mtime, sorted(m.pax_headers)) for m in tar.getmembers()]


def test_fuse_forms_become_the_kernels(tmp_path):
    lower = _lower(tmp_path / "lower")
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("changed")
    os.setxattr(upper / "etc" / "passwd", "user.fuseoverlayfs.origin", b"etc/passwd\0")
    (upper / "etc" / ".wh.gone").write_text("")  # a deletion where mknod was refused
    (upper / "etc" / ".wh.never-there").write_text("")  # whiteout of a name no lower has
    (upper / ".wh.gone").write_text("")
    (upper / "opq").mkdir()  # remade: fuse-overlayfs' marker file and xattr
    (upper / "opq" / ".wh..wh..opq").write_text("")
    os.setxattr(upper / "opq", "user.fuseoverlayfs.opaque", b"y")
    (upper / "opq" / "new").write_text("new")
    (upper / "fresh").mkdir()  # a new directory: fuse-overlayfs marks it opaque too
    (upper / "fresh" / ".wh..wh..opq").write_text("")
    os.mknod(upper / "fresh" / ".wh..opq", stat.S_IFCHR, os.makedev(0, 0))
    for path in (upper / "etc", upper / "opq", upper / "fresh", upper):
        os.utime(path, (PAST, PAST))

    layers = [os.fsencode(lower)]
    to_kernel_form(os.fsencode(upper), lambda rel: lookup(layers, rel), XATTR_OPAQUE)

    gone = (upper / "etc" / "gone").lstat()
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert stat.S_ISCHR((upper / "gone").lstat().st_mode)
    assert not any(name.startswith(".wh.") for _, _, names in os.walk(upper) for name in names)
    assert not os.path.lexists(upper / "etc" / "never-there")
    assert os.getxattr(upper / "opq", "trusted.overlay.opaque") == b"y"
    assert os.listxattr(upper / "fresh") == [] and os.listxattr(upper / "opq") == ["trusted.overlay.opaque"]
    assert os.listxattr(upper / "etc" / "passwd") == []
    # a name was removed in etc: its time (the deletion's) is kept, as the kernel keeps it
    assert (upper / "etc").stat().st_mtime == PAST
    names = [entry[0] for entry in _entries(upper)]
    # in BuildKit's order (a whiteout sorts by the name it deletes); no opaque marker on the new directory
    assert names == [
        "etc",
        "etc/.wh.gone",
        "etc/passwd",
        "fresh",
        ".wh.gone",
        "opq",
        "opq/.wh..wh..opq",
        "opq/new",
    ]
    # idempotent
    before = _entries(upper)
    to_kernel_form(os.fsencode(upper), lambda rel: lookup(layers, rel), XATTR_OPAQUE)
    assert _entries(upper) == before


def test_a_directory_only_copied_through_gets_the_lower_times_back(tmp_path):
    lower = _lower(tmp_path / "lower")
    os.utime(lower / "etc", (PAST, PAST))
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("chmod only")
    os.setxattr(upper / "etc" / "passwd", "user.fuseoverlayfs.origin", b"etc/passwd\0")
    layers = [os.fsencode(lower)]
    to_kernel_form(os.fsencode(upper), lambda rel: lookup(layers, rel), XATTR_OPAQUE)
    assert (upper / "etc").stat().st_mtime == PAST

    # a file made anew (no origin: sed -i renames a new file over the old) is a change to the directory
    upper2 = tmp_path / "upper2"
    (upper2 / "etc").mkdir(parents=True)
    (upper2 / "etc" / "passwd").write_text("rewritten")
    to_kernel_form(os.fsencode(upper2), lambda rel: lookup(layers, rel), XATTR_OPAQUE)
    assert (upper2 / "etc").stat().st_mtime != PAST
