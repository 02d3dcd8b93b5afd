"""Cache-mount directories: instances by sharing mode, made once, cleared when unused."""

from __future__ import annotations

import os
import threading
import time

from builder.mounts import CacheDirs


def _init(mode: int = 0o755):
    def init(directory):
        os.chmod(directory, mode)
        (directory / "made").write_text("once")

    return init


def test_shared_steps_use_one_directory_made_once(tmp_path):
    dirs = CacheDirs(tmp_path)
    with dirs.use("/root/.cache", "shared", _init()) as a, dirs.use("/root/.cache", "shared", _init()) as b:
        assert a == b
        (a / "made").write_text("changed")
    with dirs.use("/root/.cache", "shared", _init()) as again:
        assert (again / "made").read_text() == "changed"  # kept across uses, init not run again


def test_private_steps_get_an_instance_nobody_uses(tmp_path):
    dirs = CacheDirs(tmp_path)
    with dirs.use("id", "private", _init()) as a, dirs.use("id", "private", _init()) as b:
        assert a != b
        (a / "mine").write_text("a")
        assert not (b / "mine").exists()
    with dirs.use("id", "private", _init()) as c:
        assert c == a  # the first free one is reused


def test_ids_are_apart_and_modes_set_at_creation(tmp_path):
    dirs = CacheDirs(tmp_path)
    with dirs.use("one", "shared", _init(0o700)) as one, dirs.use("two", "shared", _init()) as two:
        assert one != two
        assert os.stat(one).st_mode & 0o777 == 0o700


def test_locked_steps_wait_for_each_other(tmp_path):
    dirs = CacheDirs(tmp_path)
    events: list[str] = []

    def step(name: str) -> None:
        with dirs.use("id", "locked", _init()):
            events.append(f"{name} start")
            time.sleep(0.3)
            events.append(f"{name} end")

    threads = [threading.Thread(target=step, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert events[0].split()[0] == events[1].split()[0]
    assert events[2].split()[0] == events[3].split()[0]
    assert [e.split()[1] for e in events] == ["start", "end", "start", "end"]


def test_clear_removes_only_what_is_unused(tmp_path):
    dirs = CacheDirs(tmp_path)
    with dirs.use("busy", "shared", _init()) as busy:
        (busy / "big").write_bytes(b"x" * 100_000)
    with dirs.use("busy", "shared", _init()) as busy, dirs.use("idle", "shared", _init()) as idle:
        (idle / "file").write_bytes(b"y" * 50_000)
        idle_path = idle
    with dirs.use("busy", "shared", _init()) as busy:
        removed, freed = dirs.clear()
        assert removed == 1 and freed >= 50_000
        assert (busy / "big").exists()
        assert not idle_path.exists()
    assert dirs.clear()[0] == 1
    with dirs.use("busy", "shared", _init()) as fresh:
        assert (fresh / "made").read_text() == "once" and not (fresh / "big").exists()
