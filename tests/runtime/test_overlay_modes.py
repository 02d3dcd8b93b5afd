"""The three overlay modes (kernel overlayfs, fuse-overlayfs, copy) leave the same upperdir: the layer tar
written from it is byte for byte the kernel's, whatever the step did (deletions, a directory emptied and
made again, chown and setuid, hard links, renames, copied-up files deep down). fuse-overlayfs and the copy
honour the whiteouts and opaque directories of the layers below. A killed step leaves nothing that
`cleanup_stale` cannot remove, fuse-overlayfs processes included. The choice of mode: forced, automatic,
and the fallback when a mode is refused."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from builder.errors import BuildError
from builder.layer import write_layer
from builder.runtime import cleanup_stale, overlay, overlaymode
from builder.runtime.mounts import mountpoints_under
from tests.runtime.runtime_helpers import tree
from tests.runtime.test_interrupt import assert_nothing_left, start_long_step

MODES = ["overlayfs", "fuse-overlayfs", "copy"]
PAST = 1_500_000_000  # lower layers' times: copied up unchanged, they must stay so

SCRIPT = """
set -e
rm /data/del.txt
rm -rf /data/dir && mkdir -p /data/dir/sub && echo new > /data/dir/n
chown 1000:1000 /data/own && chmod 4755 /data/own
echo more >> /data/mod.txt
mkdir -p /new/deep/er && echo z > /new/deep/er/z
ln /data/hl /data/hl2
mv /data/mv1 /data/mv2
chmod 600 /data/sub/inner/f
chmod 700 /data/attr
ln -s target /data/sym
rm -rf /data/gonedir
echo x > /data/tmpfile && mv /data/tmpfile /data/replace.txt
rm -rf /data/opq/kept && echo fresh > /data/opq/fresh
cat /data/sub/inner/f /data/opq/* > /seen
ls /data > /listing
"""


def _data_layer(root: Path) -> Path:
    """A lower layer under /data, dated in the past, one file with a user xattr."""
    data = root / "data"
    for d in ("dir/sub", "sub/inner", "gonedir/x", "opq"):
        (data / d).mkdir(parents=True)
    files = {
        "del.txt": "d",
        "dir/a": "a",
        "dir/sub/b": "b",
        "own": "o",
        "mod.txt": "m",
        "hl": "h",
        "mv1": "1",
        "sub/inner/f": "f",
        "attr": "x",
        "gonedir/x/y": "y",
        "replace.txt": "r",
        "hidden": "gone",
        "opq/below": "below",
    }
    for name, text in files.items():
        (data / name).write_text(text)
    os.setxattr(data / "attr", "user.note", b"kept")
    _date(root)
    return root


def _top_layer(root: Path) -> Path:
    """A layer above `_data_layer` in the kernel's on-disk form: /data/hidden deleted, /data/opq opaque."""
    (root / "data" / "opq").mkdir(parents=True)
    (root / "data" / "opq" / "kept").write_text("kept")
    os.mknod(root / "data" / "hidden", stat.S_IFCHR, os.makedev(0, 0))
    os.setxattr(root / "data" / "opq", "trusted.overlay.opaque", b"y")
    _date(root)
    return root


def _date(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        os.utime(path, (PAST, PAST), follow_symlinks=False)
    os.utime(root, (PAST, PAST))


@pytest.fixture
def layers(tmp_path: Path, base: list[Path]) -> list[Path]:
    return [_top_layer(tmp_path / "top"), _data_layer(tmp_path / "data"), *base]


@pytest.fixture
def mode(request, monkeypatch):
    monkeypatch.setenv("PYBUILD_OVERLAY", request.param)
    return request.param


def _tar(upper: Path, epoch: int) -> tuple[str, list[tuple]]:
    """The layer's diff_id and its entries, readable for a failing comparison."""
    out = io.BytesIO()
    info = write_layer(upper, out, compression="none", clamp_mtime=epoch)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        entries = [
            (m.name, m.type, m.mode, m.uid, m.gid, m.mtime, m.linkname, m.size, sorted(m.pax_headers.items()))
            for m in tar.getmembers()
        ]
    return info.diff_id, entries


def _run_everywhere(step, layers, monkeypatch, script: str, **spec) -> dict[str, tuple]:
    results = {}
    for name in MODES:
        monkeypatch.setenv("PYBUILD_OVERLAY", name)
        status, output, upper = step(layers, script, **spec)
        assert (status, output) == (0, ""), f"{name}: {output}"
        results[name] = upper
    return results


def test_every_mode_leaves_the_kernels_layer(step, layers, monkeypatch):
    epoch = int(time.time())  # changes clamp to it; what was only copied up keeps its past times
    uppers = _run_everywhere(step, layers, monkeypatch, SCRIPT)
    kernel = _tar(uppers["overlayfs"], epoch)
    names = [entry[0] for entry in kernel[1]]
    # the kernel's own form, for the record: one opaque directory, whiteouts where lower names went
    assert "data/dir/.wh..wh..opq" in names and "data/.wh.gonedir" in names and "data/.wh.del.txt" in names
    assert "new/.wh..wh..opq" not in names and "data/sub/inner/f" in names
    assert "data/dir/sub/.wh..wh..opq" not in names  # inside an opaque directory nothing shows through
    for name in ("fuse-overlayfs", "copy"):
        assert _tar(uppers[name], epoch)[1] == kernel[1], name
        assert _tar(uppers[name], epoch)[0] == kernel[0], name
        assert tree(uppers[name]) == tree(uppers["overlayfs"]), name


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_lower_whiteouts_and_opaque_directories_are_honoured(step, layers, mode):
    status, output, _ = step(layers, "ls /data/opq; test ! -e /data/hidden && echo hidden-gone; cat /data/own")
    assert (status, output) == (0, "kept\nhidden-gone\no"), mode


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_a_step_sees_what_it_wrote_and_owners_stay(step, layers, mode):
    status, output, upper = step(
        layers,
        "echo hi > /f; chown 1000:50 /f; chmod 2750 /f; stat -c '%u %g %a' /f /data/own; cat /f",
        user="0",
    )
    assert (status, output) == (0, "1000 50 2750\n0 0 644\nhi\n"), mode
    st = (upper / "f").lstat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 50, 0o2750)


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_copy_steps_write_through_the_overlay(tmp_path, state_dir, layers, mode):
    upper = tmp_path / "upper"
    with overlay(layers, upper, state_dir=state_dir) as merged:
        assert (merged / "data" / "mod.txt").read_text() == "m"
        assert not (merged / "data" / "hidden").exists()
        (merged / "app").mkdir()
        (merged / "app" / "run").write_text("run")
        (merged / "data" / "del.txt").unlink()
    assert tree(upper) == {"app": "dir", "app/run": "file:run", "data": "dir", "data/del.txt": "whiteout"}
    assert mountpoints_under(tmp_path) == []


@pytest.mark.parametrize("mode", ["fuse-overlayfs", "copy"], indirect=True)
def test_an_interrupted_step_undoes_everything(tmp_path, state_dir, base, step, mode):
    upper = tmp_path / "uppers" / "interrupted"
    upper.parent.mkdir()
    child = start_long_step(state_dir, upper, base)
    if mode == "fuse-overlayfs":
        assert _fuse_processes(state_dir) != []
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert b"KeyboardInterrupt" in stderr
    assert_nothing_left(state_dir, upper)
    assert _fuse_processes(state_dir) == []
    # what the step wrote before it was stopped is in the upperdir, as with the kernel's overlay
    assert sorted(os.listdir(upper)) == ["marker"]


@pytest.mark.parametrize("mode", ["fuse-overlayfs", "copy"], indirect=True)
def test_cleanup_stale_removes_what_a_killed_step_left(tmp_path, state_dir, base, step, mode):
    upper = tmp_path / "uppers" / "killed"
    upper.parent.mkdir()
    child = start_long_step(state_dir, upper, base)
    child.kill()
    child.wait(timeout=30)
    assert len(cleanup_stale(state_dir)) == 1
    assert_nothing_left(state_dir, upper)
    assert _fuse_processes(state_dir) == []
    status, output, _ = step(base, "echo next")
    assert (status, output) == (0, "next\n")


@pytest.mark.root  # a fuse-overlayfs mount made by a child process
def test_cleanup_stale_ends_a_fuse_overlayfs_left_running(tmp_path, state_dir, base, monkeypatch):
    """A fuse-overlayfs that outlived its pybuild, its mount in the dead process's mount namespace (as in a
    rootless build): the mount is out of sight, and the process is ended by the pid it left — only if its
    environment names that run directory."""
    from builder.runtime import fuse

    monkeypatch.setenv("PYBUILD_OVERLAY", "fuse-overlayfs")
    code = f"""
import sys, os, signal
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from builder.runtime import fuse, overlay
fuse._die_with_parent = lambda: None  # fault injection: fuse-overlayfs not told to die with us
from pathlib import Path
with overlay([Path({str(base[1])!r})], Path({str(tmp_path / "upper")!r}), state_dir=Path({str(state_dir)!r})):
    print("mounted", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    command = ["unshare", "--mount", "--propagation", "private", "python3", "-c", code]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, env={**os.environ})
    assert child.stdout.readline() == b"mounted\n"
    child.wait(timeout=30)
    [left] = _fuse_processes(state_dir)
    assert mountpoints_under(state_dir) == []  # out of sight: in the namespace fuse-overlayfs keeps alive
    [run] = (state_dir / "runs").iterdir()

    stranger = subprocess.Popen(["sleep", "60"])
    try:
        pid_file = run / "fuse.pid"
        real = pid_file.read_text()
        pid_file.write_text(str(stranger.pid))  # a pid reused by another process
        fuse.kill_leftover(run)
        assert stranger.poll() is None and _running(left)
        pid_file.write_text(real)
    finally:
        stranger.kill()
        stranger.wait()

    fuse.kill_leftover(run)
    assert not _running(left)
    assert len(cleanup_stale(state_dir)) == 1
    assert _fuse_processes(state_dir) == []


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: this process may have become its reaper, as a subreaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _fuse_processes(state_dir: Path) -> list[int]:
    """fuse-overlayfs processes running in a run directory under ``state_dir``."""
    found = []
    runs = os.path.realpath(state_dir / "runs")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environment = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        run = [v for v in environment if v.startswith(b"PYBUILD_FUSE_RUN=" + os.fsencode(runs) + b"/")]
        if run and b"fuse-overlayfs" in command:
            found.append(int(entry))
    return found


# -- choosing the mode ----------------------------------------------------------------------------------


@pytest.fixture
def fresh_choice(monkeypatch):
    overlaymode.forget()
    yield
    overlaymode.forget()


@pytest.mark.parametrize("name", MODES)
def test_the_variable_forces_a_mode(tmp_path, monkeypatch, fresh_choice, name):
    monkeypatch.setenv("PYBUILD_OVERLAY", name)
    choice = overlaymode.choose(tmp_path)
    assert (choice.mode, choice.forced) == (name, True)
    assert choice.describe() == f"{name} (forced by PYBUILD_OVERLAY)"


def test_auto_is_kernel_overlayfs_for_root(tmp_path, monkeypatch, fresh_choice):
    monkeypatch.delenv("PYBUILD_OVERLAY", raising=False)
    assert overlaymode.choose(tmp_path).describe() == "overlayfs"
    monkeypatch.setenv("PYBUILD_OVERLAY", "auto")
    assert overlaymode.choose(tmp_path).mode == "overlayfs"


def test_auto_falls_back_to_fuse_then_copy(tmp_path, monkeypatch, fresh_choice):
    # fault injection: the kernel refuses overlayfs (as in a user namespace before Linux 5.11)
    monkeypatch.setattr(overlaymode, "probe_kernel", lambda under: "permission denied")
    monkeypatch.delenv("PYBUILD_OVERLAY", raising=False)
    choice = overlaymode.choose(tmp_path)
    assert choice.describe() == "fuse-overlayfs (overlayfs refused: permission denied)"

    overlaymode.forget()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # fuse-overlayfs not installed
    choice = overlaymode.choose(tmp_path)
    assert choice.mode == "copy"
    assert choice.describe() == (
        "copy (overlayfs refused: permission denied; fuse-overlayfs refused: not installed "
        "(Debian: apt-get install fuse-overlayfs))"
    )


def test_a_refused_fuse_mount_says_why(tmp_path, monkeypatch, fresh_choice):
    fake = tmp_path / "bin" / "fuse-overlayfs"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'fuse: device not found, try modprobe fuse first' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.setattr(overlaymode, "probe_kernel", lambda under: "no overlay here")
    monkeypatch.delenv("PYBUILD_OVERLAY", raising=False)
    choice = overlaymode.choose(tmp_path / "state")
    assert choice.mode == "copy"
    why = dict(choice.refused)["fuse-overlayfs"]
    assert why == "fuse-overlayfs: fuse: device not found, try modprobe fuse first"


def test_the_automatic_choice_is_probed_once(tmp_path, monkeypatch, fresh_choice):
    calls = []
    real = overlaymode.probe_kernel
    monkeypatch.setattr(overlaymode, "probe_kernel", lambda under: calls.append(under) or real(under))
    monkeypatch.delenv("PYBUILD_OVERLAY", raising=False)
    for _ in range(3):
        assert overlaymode.choose(tmp_path).mode == "overlayfs"
    assert len(calls) == 1
    assert list((tmp_path / "runs").iterdir()) == []  # the probe's run directory is gone


def test_a_bad_value_is_an_error_naming_the_variable(tmp_path, monkeypatch, fresh_choice):
    monkeypatch.setenv("PYBUILD_OVERLAY", "aufs")
    with pytest.raises(BuildError) as caught:
        overlaymode.choose(tmp_path)
    assert caught.value.message == "PYBUILD_OVERLAY=aufs: expected auto, overlayfs, fuse-overlayfs or copy"


def test_a_working_kernel_mount_costs_no_probe(step, base, monkeypatch, fresh_choice):
    monkeypatch.delenv("PYBUILD_OVERLAY", raising=False)
    monkeypatch.setattr(overlaymode, "probe_kernel", lambda under: pytest.fail("probed"))
    status, _, _ = step(base, "true")
    assert status == 0 and not overlaymode.known(step.state_dir)


def test_a_refused_kernel_mount_falls_back_for_that_step(step, layers, monkeypatch, tmp_path, fresh_choice):
    fake = tmp_path / "bin" / "mount"  # fault injection: a mount that refuses overlayfs, as a kernel would
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\ncase " $* " in *" -t overlay "*) echo "mount: permission denied" >&2; exit 32;; esac\n'
        'exec /usr/bin/mount "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("PYBUILD_OVERLAY", raising=False)
    status, output, upper = step(layers, "rm /data/del.txt; echo hi > /f")
    assert (status, output) == (0, "")
    assert tree(upper) == {"data": "dir", "data/del.txt": "whiteout", "f": "file:hi\n"}
    assert overlaymode.known(step.state_dir)
    assert overlaymode.choose(step.state_dir).describe() == (
        "fuse-overlayfs (overlayfs refused: mount: permission denied)"
    )


@pytest.mark.parametrize("mode", MODES, indirect=True)
def test_device_nodes_of_a_layer_work_for_root(step, base, tmp_path, mode):
    devices = tmp_path / "devices"
    (devices / "std").mkdir(parents=True)
    os.mknod(devices / "std" / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    status, output, upper = step([devices, *base], "head -c 2 /std/zero | od -An -tx1; echo x > /std/zero")
    assert (status, output.split()) == (0, ["00", "00"]), (mode, output)
    assert tree(upper) == {}


def test_a_store_where_overlayfs_is_refused_falls_back_for_every_step(tmp_path):
    """A store on overlayfs (a container's root) cannot hold an overlay's upperdir: auto falls back to
    fuse-overlayfs, also for a step with an env secret, whose runtime state lives on a tmpfs of its own."""
    from tests.build.conftest import Pybuild, write_context
    from tests.support.images import busybox_rootfs

    outer = tmp_path / "outer"
    for name in ("l", "u", "w", "m"):
        (outer / name).mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={outer}/l,upperdir={outer}/u,workdir={outer}/w",
         str(outer / "m")],
        check=True,
    )  # fmt: skip
    try:
        tool = Pybuild(outer / "m" / "store")
        tool("import", str(busybox_rootfs(tmp_path / "busybox")), "busybox:latest")
        (tmp_path / "secret").write_text("s3cret")
        context = write_context(
            tmp_path / "ctx",
            "FROM busybox\nRUN echo one > /one\n"
            "RUN --mount=type=secret,id=s,env=S sh -c 'test \"$S\" = s3cret && echo two > /two'\n",
        )
        env = {overlaymode.VARIABLE: "auto"}
        tool("build", "-t", "fell-back:1", "--secret", f"id=s,src={tmp_path / 'secret'}", str(context), env=env)
        assert tool("run", "fell-back:1", "cat", "/one", "/two", env=env).out == "one\ntwo\n"
    finally:
        for point in mountpoints_under(outer / "m"):
            subprocess.run(["umount", "-l", str(point)], check=False)
