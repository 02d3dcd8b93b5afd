"""binfmt_misc detection and the platform list: which architectures the host can run, and the errors."""

from __future__ import annotations

import platform as host_platform
from pathlib import Path

import pytest

from builder import emulation
from builder.errors import PlanError
from builder.platforms import Platform, parse_platforms

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
AARCH64_MAGIC = "7f454c460201010000000000000000000200b700"
AARCH64_MASK = "ffffffffffffff00fffffffffffffffffeffffff"


def binfmt(tmp_path: Path, entries: dict[str, str]) -> Path:
    """A directory shaped like a mounted binfmt_misc with ``{name: flags}`` aarch64 handlers."""
    root = tmp_path / "binfmt"
    root.mkdir()
    (root / "register").touch()
    (root / "status").write_text("enabled\n")
    for name, flags in entries.items():
        (root / name).write_text(
            f"enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: {flags}\noffset 0\n"
            f"magic {AARCH64_MAGIC}\nmask {AARCH64_MASK}\n"
        )
    return root


def test_fixed_handler_runs_the_architecture(tmp_path):
    root = binfmt(tmp_path, {"qemu-aarch64": "POF"})
    handlers = emulation.read_handlers(root)
    assert [h.name for h in handlers] == ["qemu-aarch64"]
    assert emulation.can_run(ARM64, host=AMD64, handlers=handlers)
    emulation.require(ARM64, host=AMD64, handlers=handlers, root=root)
    assert not emulation.can_run(Platform("linux", "s390x"), host=AMD64, handlers=handlers)


def test_handler_without_fix_binary_flag_is_refused_and_named(tmp_path):
    root = binfmt(tmp_path, {"qemu-aarch64": "OC"})
    with pytest.raises(emulation.EmulationError) as caught:
        emulation.require(ARM64, host=AMD64, root=root)
    assert "'qemu-aarch64'" in caught.value.message and "F (fix binary)" in caught.value.message


def test_no_handler_names_the_package(tmp_path):
    root = binfmt(tmp_path, {})
    with pytest.raises(emulation.EmulationError) as caught:
        emulation.require(ARM64, host=AMD64, root=root)
    assert "no binfmt_misc handler runs arm64 executables" in caught.value.message
    assert "qemu-user-static" in caught.value.hint


def test_unmounted_binfmt_misc_is_said(tmp_path):
    with pytest.raises(emulation.EmulationError) as caught:
        emulation.require(ARM64, host=AMD64, root=tmp_path / "absent")
    assert "not mounted" in caught.value.message


def test_host_and_386_on_amd64_run_natively(tmp_path):
    root = binfmt(tmp_path, {})
    emulation.require(AMD64, host=AMD64, root=root)
    emulation.require(Platform("linux", "386"), host=AMD64, root=root)
    with pytest.raises(emulation.EmulationError):
        emulation.require(Platform("linux", "386"), host=ARM64, root=root)


def test_handler_is_matched_by_elf_header_not_by_name(tmp_path):
    root = binfmt(tmp_path, {"my-emulator": "F"})
    assert emulation.handler_for(ARM64, emulation.read_handlers(root)).name == "my-emulator"
    assert emulation.handler_for(Platform("linux", "riscv64"), emulation.read_handlers(root)) is None


def test_this_host_runs_arm64_after_setup(busybox_static):
    """The setup script registered qemu's handlers with F: the real arm64 busybox is recognised."""
    handler = emulation.handler_for(ARM64)
    assert handler is not None and handler.fixed
    assert handler.recognises((busybox_static / "arm64" / "bin" / "busybox").read_bytes()[:20])
    assert Platform.host().architecture == {"x86_64": "amd64", "aarch64": "arm64"}[host_platform.machine()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64,linux/arm64", ["linux/amd64", "linux/arm64"]),
        ("linux/arm64, linux/aarch64,linux/arm64/v8", ["linux/arm64"]),
        ("linux/arm/v7,linux/arm", ["linux/arm/v7"]),
        ("linux/x86_64", ["linux/amd64"]),
    ],
)
def test_platform_lists(text, expected):
    assert [str(p) for p in parse_platforms(text)] == expected


@pytest.mark.parametrize("text", ["linux/amd64,", ",linux/arm64", "linux/amd64,,linux/arm64", "linux/nope"])
def test_bad_platform_lists(text):
    with pytest.raises(PlanError):
        parse_platforms(text)


def test_any_variant_pattern_matches_every_variant():
    assert Platform("linux", "arm", None).matches({"os": "linux", "architecture": "arm", "variant": "v6"})
    assert not Platform("linux", "arm", "v7").matches({"os": "linux", "architecture": "arm", "variant": "v6"})
    assert Platform("linux", "arm64", None).matches({"os": "linux", "architecture": "arm64"})
