"""Every field of every op changes its step's cache key, or the op lists it as not part of the key — and then
it does not change the key. (A field added without a thought to the key fails here.)"""

from __future__ import annotations

import dataclasses

import pytest

from builder.cache import key_of
from builder.effects import CopyInputs, MountContents
from builder.errors import Span
from builder.mounts.spec import MountSpec, ResolvedMount
from builder.ops import (
    ContextInput,
    CopyOp,
    DirectoryInput,
    ImageInput,
    MkdirOp,
    RunOp,
    StageInput,
)
from builder.runoptions import RunOptions, Ulimit
from builder.solver.step import step_parts
from builder.syntax.ast import Heredoc

SPAN = Span("Buildfile", 3, 1)
DOC = Heredoc("EOF", "#!/bin/sh\necho hi\n", True, False, SPAN, 0, "#!/bin/sh\necho hi\n")
BIND = ResolvedMount(MountSpec("bind", "/src", "src", "", "", ""), "/src", "/src")
CACHE = ResolvedMount(MountSpec("cache", "/root/.cache", "", "", "", ""), "/root/.cache", "/root/.cache")

RUN = RunOp(
    platform="linux/amd64",
    argv=("/bin/sh", "-c", "make"),
    env=(("PATH", "/bin"),),
    args=(("V", "1"),),
    user="",
    cwd="/",
    network="host",
    flags=(),
    run_options=RunOptions(),
    mounts=(BIND,),
    mount_trees=(None,),
    script=None,
    privileged=False,
    proxy=(),
    history_args=(),
)
COPY = CopyOp(keyword="COPY", sources=("src",), dest="/app/", workdir="/", tree=ContextInput())
MKDIR = MkdirOp("/src", "", "/src")

#: For each op and field, a value other than the base op's.
CHANGED = {
    "RunOp": {
        "platform": "linux/arm64",
        "argv": ("/bin/sh", "-c", "make install"),
        "env": (("PATH", "/usr/bin"),),
        "args": (("V", "2"),),
        "user": "app",
        "cwd": "/src",
        "network": "none",
        "flags": (("security", "insecure"),),
        "run_options": RunOptions(ulimits=(Ulimit("nofile", 10, 10),)),
        "mounts": (CACHE,),
        "mount_trees": (StageInput(0, "build"),),
        "script": DOC,
        "privileged": True,
        "proxy": (("HTTP_PROXY", "http://proxy:3128"),),
        "history_args": (("V", "1"),),
    },
    "CopyOp": {
        "keyword": "ADD",
        "sources": ("src", "lib"),
        "dest": "/srv/",
        "workdir": "/work",
        "tree": DirectoryInput("extra", "/tmp/extra"),
        "from_ref": "build",
        "chown": "app",
        "chmod": "644",
        "link": True,
        "parents": True,
        "exclude": ("*.pyc",),
        "heredocs": (DOC,),
        "checksum": "sha256:" + "a" * 64,
        "keep_git_dir": True,
    },
    "MkdirOp": {"path": "/srv", "user": "app", "recorded": "/src/"},
}


def _key(op) -> str:
    if isinstance(op, RunOp):
        inputs = MountContents(tuple("sha256:bind" for _ in op.mounts), {})
    elif isinstance(op, CopyOp):
        inputs = CopyInputs({"src": "file 644 - sha256:x"})
    else:
        inputs = None
    return key_of(step_parts(op, "sha256:parent", None, inputs))


@pytest.mark.parametrize(
    ("base", "name"),
    [(op, f.name) for op in (RUN, COPY, MKDIR) for f in dataclasses.fields(op)],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_each_field_is_keyed_or_listed_as_not(base, name):
    changed = CHANGED[type(base).__name__][name]
    assert changed != getattr(base, name), "the table must change the field"
    variant = dataclasses.replace(base, **{name: changed})
    if name in type(base).NOT_KEYED:
        assert _key(variant) == _key(base), f"{name} is listed as not keyed, yet it changes the key"
    else:
        assert _key(variant) != _key(base), f"{name} does not change the key and is not listed in NOT_KEYED"


def test_every_field_has_a_row():
    for op in (RUN, COPY, MKDIR):
        assert {f.name for f in dataclasses.fields(op)} == set(CHANGED[type(op).__name__])


def test_the_solver_adds_the_parent_the_instruction_and_the_epoch():
    base = step_parts(MKDIR, "sha256:parent", None, None)
    assert key_of(step_parts(MKDIR, "sha256:other", None, None)) != key_of(base)
    assert key_of(step_parts(MKDIR, "sha256:parent", 1700000000, None)) != key_of(base)
    assert base["keyword"] == "WORKDIR"


def test_a_link_copy_keys_on_no_parent():
    linked = dataclasses.replace(COPY, link=True)
    one = step_parts(linked, "sha256:one", None, CopyInputs({}))
    two = step_parts(linked, "sha256:two", None, CopyInputs({}))
    assert key_of(one) == key_of(two)


def test_an_image_tree_names_its_platform():
    assert ImageInput("alpine", "linux/amd64") != ImageInput("alpine", "linux/arm64")
