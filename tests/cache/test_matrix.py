"""The cache matrix: one mutation between two real builds, and which steps hit, which ran and why.

Every row starts from the same context (a copy of ``TEMPLATE``), builds it once, applies its mutation (to the
context, the Buildfile or the command line) and builds again; the second build's plain log must show exactly
the expected outcome for each layer step of the target. All rows share one store, as a developer's machine
does: keys do not depend on where the context lives, so a row's first build hits what earlier rows stored, and
rows never repeat a mutation, so none can hit what another row's second build stored.

The Buildfile is chosen so outcomes are deterministic: ``RUN echo`` writes nothing (its layer is the same
whenever it runs again, so later steps stay cached: a miss never stops later lookups), while the stamp step
writes a fresh UUID (its layer differs every time it runs, so every step on top of it runs: "parent step ran").
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cache.conftest import Pybuild, outcomes, write_context

BUILDFILE = """\
FROM busybox:latest AS tools
RUN echo tools > /tools.txt

FROM busybox:latest AS build
ARG VERSION=1
ENV MODE=prod
WORKDIR /src
RUN echo "building $VERSION in $MODE mode"
COPY src/ ./
ARG CONF_DIR=/etc/app
COPY config.json ${CONF_DIR}/
RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp

FROM busybox:latest AS final
COPY --from=build /src/app.py /app/app.py
RUN ls /app > /dev/null
"""

FILES = {
    "src/app.py": "print('app')\n",
    "src/util.py": "def util(): pass\n",
    "src/cache.tmp": "scratch\n",
    "config.json": '{"debug": false}\n',
    "README.md": "# app\n",
    "notes.log": "notes\n",
    ".dockerignore": "*.log\n**/*.tmp\n",
}

#: The target's layer steps, in the order they run (the ``tools`` stage is never needed).
STEPS = {
    "workdir": "build WORKDIR /src",
    "echo": 'build RUN echo "building $VERSION in $MODE mode"',
    "copy-src": "build COPY src/ ./",
    "copy-conf": "build COPY config.json ${CONF_DIR}/",
    "stamp": "build RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp",
    "copy-from": "final COPY --from=build /src/app.py /app/app.py",
    "ls": "final RUN ls /app > /dev/null",
}
BUILD_STEPS = ("workdir", "echo", "copy-src", "copy-conf", "stamp")
PARENT = "parent step ran"


@dataclass
class Row:
    """``mutate(context)`` changes the context or Buildfile and returns extra CLI arguments for the second
    build; ``ran`` maps each step that must run to its reason (every other step must be CACHED)."""

    name: str
    mutate: Callable[[Path], list[str]]
    ran: dict[str, str] = field(default_factory=dict)
    steps: tuple[str, ...] = tuple(STEPS)
    headers: dict[str, str] = field(default_factory=dict)  # a step whose text the mutation changes
    settle: bool = False  # let the context age past the stat cache's racy window before the first build


def write(rel: str, text: str) -> Callable[[Path], list[str]]:
    def mutate(ctx: Path) -> list[str]:
        (ctx / rel).write_text(text)
        return []

    return mutate


def edit_buildfile(old: str, new: str) -> Callable[[Path], list[str]]:
    def mutate(ctx: Path) -> list[str]:
        text = (ctx / "Buildfile").read_text()
        assert old in text
        (ctx / "Buildfile").write_text(text.replace(old, new, 1))
        return []

    return mutate


def args(*extra: str) -> Callable[[Path], list[str]]:
    return lambda ctx: list(extra)


def touch(ctx: Path) -> list[str]:
    later = time.time() + 3600
    os.utime(ctx / "src/app.py", (later, later))
    return []


def same_size_same_mtime(ctx: Path) -> list[str]:
    """New content of the same length with the old mtime put back: only the ctime tells it changed."""
    path = ctx / "src/app.py"
    st = os.stat(path)
    path.write_text("print('APP')\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size
    return []


def chmod(rel: str, mode: int) -> Callable[[Path], list[str]]:
    def mutate(ctx: Path) -> list[str]:
        os.chmod(ctx / rel, mode)
        return []

    return mutate


def chown(ctx: Path) -> list[str]:
    os.chown(ctx / "src/util.py", 1000, 1000)
    return []


def remove(rel: str) -> Callable[[Path], list[str]]:
    def mutate(ctx: Path) -> list[str]:
        (ctx / rel).unlink()
        return []

    return mutate


def add_empty_dir(ctx: Path) -> list[str]:
    (ctx / "src/empty").mkdir()
    return []


def retarget_link(ctx: Path) -> list[str]:
    (ctx / "src/current").unlink()
    (ctx / "src/current").symlink_to("util.py")
    return []


APP_CHANGED = {
    "copy-src": "COPY: src/app.py changed",
    "copy-conf": PARENT,
    "stamp": PARENT,
    "copy-from": "COPY: src/app.py changed",
    "ls": PARENT,
}
AFTER_SRC = {"copy-conf": PARENT, "stamp": PARENT}

ROWS = [
    Row("nothing changed", args()),
    Row("mtime-only touch", touch),
    Row("content change", write("src/app.py", "print('app v2')\n"), APP_CHANGED),
    Row("same size, same mtime", same_size_same_mtime, APP_CHANGED, settle=True),
    Row(
        "mode change",
        chmod("src/app.py", 0o755),
        {
            **APP_CHANGED,
            "copy-src": "COPY: src/app.py changed (mode 644 → 755)",
            "copy-from": "COPY: src/app.py changed (mode 644 → 755)",
        },
    ),
    # COPY writes context files root-owned: their owner on disk is nothing the layer holds (as in BuildKit)
    Row("owner change", chown),
    Row("file added", write("src/new.py", "new\n"), {"copy-src": "COPY: src/new.py added", **AFTER_SRC}),
    Row("file removed", remove("src/util.py"), {"copy-src": "COPY: src/util.py removed", **AFTER_SRC}),
    Row("empty directory added", add_empty_dir, {"copy-src": "COPY: src/empty added", **AFTER_SRC}),
    Row("symlink retargeted", retarget_link, {"copy-src": "COPY: src/current changed", **AFTER_SRC}),
    # the copy runs again and makes the same layer (WORKDIR's /src keeps its mode, and every directory time
    # comes from the inputs), so the steps after it stay cached
    Row("directory mode", chmod("src", 0o700), {"copy-src": "COPY: src changed (mode 755 → 700)"}),
    Row("ignored file at the root", write("notes.log", "more notes\n")),
    Row("ignored file below", write("src/cache.tmp", "other scratch\n")),
    Row("file never copied", write("README.md", "# app, documented\n")),
    Row("ignore file dropped", remove(".dockerignore"), {"copy-src": "COPY: src/cache.tmp added", **AFTER_SRC}),
    Row(
        "other copied file",
        write("config.json", '{"debug": true}\n'),
        {"copy-conf": "COPY: config.json changed", "stamp": PARENT},
    ),
    # An ARG reaches RUN through its environment; RUN echo writes nothing, so nothing after it runs again.
    Row(
        "ARG value",
        args("--build-arg", "VERSION=2"),
        {"echo": "ARG VERSION: 1 → 2", "stamp": "ARG VERSION: 1 → 2"},  # final copies unchanged content
    ),
    Row("ARG given its default", args("--build-arg", "VERSION=1")),
    Row("undeclared build arg", args("--build-arg", "UNUSED=1")),
    Row(
        "ARG used by COPY",
        args("--build-arg", "CONF_DIR=/etc/other"),
        {"copy-conf": "ARG CONF_DIR: /etc/app → /etc/other", "stamp": PARENT},
    ),
    Row(
        "ENV value",
        edit_buildfile("ENV MODE=prod", "ENV MODE=dev"),
        {"echo": "ENV MODE: prod → dev", "stamp": "ENV MODE: prod → dev"},
    ),
    Row(
        "USER for a RUN",
        edit_buildfile("RUN cat", "USER nobody\nRUN cat"),
        {"stamp": "USER changed: (empty) → nobody"},
    ),
    Row(
        "RUN command edited",
        edit_buildfile("/tmp/stamp", "/tmp/stamp2"),
        {"stamp": "command changed: …/tmp/stamp → …/tmp/stamp2"},
        headers={"stamp": "build RUN cat /proc/sys/kernel/random/uuid > /tmp/stamp2"},
    ),
    Row("unused stage edited", edit_buildfile("echo tools", "echo other tools")),
    Row(
        "comment inserted (lines move)",
        edit_buildfile("FROM busybox:latest AS tools", "# tools\nFROM busybox:latest AS tools"),
    ),
    Row("--target", args("--target", "build"), steps=BUILD_STEPS),
    Row("--no-cache", args("--no-cache"), dict.fromkeys(STEPS, "--no-cache")),
    Row(
        "--no-cache-filter build",
        args("--no-cache-filter", "build"),
        dict.fromkeys(BUILD_STEPS, "--no-cache-filter build"),
    ),
    Row(
        "--no-cache-filter final",
        args("--no-cache-filter", "final"),
        dict.fromkeys(("copy-from", "ls"), "--no-cache-filter final"),
    ),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory, busybox_dir: Path) -> tuple[Pybuild, Path]:
    """One store for all rows, and the template context (built once, so later first builds hit)."""
    base = tmp_path_factory.mktemp("matrix")
    tool = Pybuild(base / "store")
    tool("import", str(busybox_dir), "busybox:latest")
    template = write_context(base / "template", BUILDFILE, FILES)
    (template / "src/current").symlink_to("app.py")
    for path in (template / "src/app.py", template / "src/util.py", template / "config.json"):
        os.chmod(path, 0o644)
    os.chmod(template / "src", 0o755)
    tool("build", "--progress=plain", str(template))
    return tool, template


def _expected(row: Row) -> list[tuple[str, str]]:
    return [(row.headers.get(step, STEPS[step]), row.ran.get(step, "CACHED")) for step in row.steps]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_cache_matrix(row: Row, shared, tmp_path: Path):
    tool, template = shared
    ctx = tmp_path / "ctx"
    shutil.copytree(template, ctx, symlinks=True)
    if row.settle:
        time.sleep(1.2)
    first = tool("build", "--progress=plain", str(ctx))
    assert all(outcome == "CACHED" for _, outcome in outcomes(first.err)), first.err
    extra = row.mutate(ctx)
    second = tool("build", "--progress=plain", *extra, str(ctx))
    assert outcomes(second.err) == _expected(row), second.err
    assert "[tools" not in second.err  # a stage the target does not need is never built
