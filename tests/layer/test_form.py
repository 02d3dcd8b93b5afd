"""The layer code is told the host's form (`builder.layer.form.LayerForm`) rather than asking the process:
which xattr marks an opaque directory, and whether a device node the kernel refuses is skipped (in a user
namespace, as Docker's rootless unpacking does) or an error."""

from __future__ import annotations

import errno
import io
import os
import tarfile

import pytest

from builder.layer import ROOT_FORM, USER_NAMESPACE_FORM, LayerError, apply_layer
from builder.layer.whiteouts import XATTR_OPAQUE, XATTR_OPAQUE_USER
from tests.layer.layertree import make_tar


@pytest.mark.parametrize(
    ("form", "xattr"), [(ROOT_FORM, XATTR_OPAQUE), (USER_NAMESPACE_FORM, XATTR_OPAQUE_USER)]
)
def test_an_opaque_directory_is_marked_as_the_form_says(tmp_path, form, xattr):
    blob = make_tar([("d", "dir"), ("d/.wh..wh..opq", "file"), ("d/kept", "file", b"x")])
    (tmp_path / "layer").mkdir()
    apply_layer(io.BytesIO(blob), tmp_path / "layer", form=form)
    marked = tmp_path / "layer" / "d"
    assert [n for n in os.listxattr(marked) if "overlay" in n] == [xattr]
    assert os.getxattr(marked, xattr) == b"y"
    assert (marked / "kept").read_bytes() == b"x"


def _with_null_device() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        node = tarfile.TarInfo("dev/null")
        node.type, node.devmajor, node.devminor, node.mode = tarfile.CHRTYPE, 1, 3, 0o666
        tar.addfile(node)
        data = b"after the device\n"
        after = tarfile.TarInfo("etc/motd")
        after.size, after.mode = len(data), 0o644
        tar.addfile(after, io.BytesIO(data))
    return raw.getvalue()


@pytest.fixture
def mknod_refused(monkeypatch):
    """The kernel refusing device nodes, as it does in a user namespace (fault injection)."""

    def refuse(path, mode=0o600, device=0, *, dir_fd=None):
        raise PermissionError(errno.EPERM, "Operation not permitted", path)

    monkeypatch.setattr(os, "mknod", refuse)


@pytest.mark.parametrize("mode", ["overlay", "flatten"])
def test_a_refused_device_is_skipped_in_a_user_namespace(tmp_path, mknod_refused, mode):
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(_with_null_device()), dest, mode=mode, form=USER_NAMESPACE_FORM)
    assert not os.path.lexists(dest / "dev" / "null")
    assert (dest / "etc" / "motd").read_bytes() == b"after the device\n"


@pytest.mark.parametrize("mode", ["overlay", "flatten"])
def test_a_refused_device_is_an_error_as_root(tmp_path, mknod_refused, mode):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError) as raised:
        apply_layer(io.BytesIO(_with_null_device()), dest, mode=mode, form=ROOT_FORM, name="sha256:ab")
    assert (
        raised.value.message == "layer sha256:ab: cannot apply layer entry 'dev/null': Operation not permitted"
    )
