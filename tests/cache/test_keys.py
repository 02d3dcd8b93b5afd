"""Cache keys and explanations as pure functions: a table of (previous parts, parts now) → the reason shown."""

from __future__ import annotations

import hashlib

import pytest

from builder.cache import PARENT_BASE, PARENT_CACHED, PARENT_RAN, chain_id, explain, key_of, keyed

RUN = {
    "keyword": "RUN",
    "parent": "sha256:" + "1" * 64,
    "platform": "linux/amd64",
    "argv": ["/bin/sh", "-c", "make"],
    "env": [["PATH", "/bin"], ["MODE", "prod"]],
    "args": [["VERSION", "1"]],
    "user": "",
    "cwd": "/",
}
COPY = {
    "keyword": "COPY",
    "parent": "sha256:" + "1" * 64,
    "sources": ["src/"],
    "dest": "/app/",
    "files": {"src": "dir 755 0:0", "src/a.py": "file 644 0:0 aa", "src/b.py": "file 644 0:0 bb"},
}

TMPFS = {"type": "tmpfs", "target": "/t", "size": None}
CACHE_MOUNT = {
    "type": "cache",
    "target": "/c",
    "from": "seed",
    "source": "/x",
    "uid": None,
    "content": "sha256:1",
}


def with_(parts: dict, **changes) -> dict:
    return {**parts, **changes}


CASES = [
    ("first build", None, RUN, {}, "first build"),
    ("parent ran", RUN, with_(RUN, parent="sha256:" + "2" * 64), {"parent": PARENT_RAN}, "parent step ran"),
    ("parent cached", RUN, with_(RUN, parent="x"), {"parent": PARENT_CACHED}, "parent step changed"),
    ("base image", RUN, with_(RUN, parent="x"), {"parent": PARENT_BASE}, "base image changed"),
    ("ARG", RUN, with_(RUN, args=[["VERSION", "2"]]), {}, "ARG VERSION: 1 → 2"),
    ("ARG added", RUN, with_(RUN, args=[["VERSION", "1"], ["X", "y"]]), {}, "ARG X: (unset) → y"),
    ("ENV", RUN, with_(RUN, env=[["PATH", "/bin"], ["MODE", "dev"]]), {}, "ENV MODE: prod → dev"),
    (
        "command",
        RUN,
        with_(RUN, argv=["/bin/sh", "-c", "make all"]),
        {},
        "command changed: /bin/sh -c make → /bin/sh -c make all",
    ),
    (
        "long command, cut where it differs",
        with_(RUN, argv=["/bin/sh", "-c", "apt-get update && apt-get install -y curl git"]),
        with_(RUN, argv=["/bin/sh", "-c", "apt-get update && apt-get install -y curl git make"]),
        {},
        "command changed: …git → …git make",
    ),
    ("user", RUN, with_(RUN, user="app"), {}, "USER changed: (empty) → app"),
    ("same parts", RUN, RUN, {}, "cached layer missing from the store"),
    (
        "file content",
        COPY,
        with_(COPY, files={**COPY["files"], "src/a.py": "file 644 0:0 a2"}),
        {},
        "COPY: src/a.py changed",
    ),
    (
        "file mode",
        COPY,
        with_(COPY, files={**COPY["files"], "src/a.py": "file 755 0:0 aa"}),
        {},
        "COPY: src/a.py changed (mode 644 → 755)",
    ),
    (
        "file owner",
        COPY,
        with_(COPY, files={**COPY["files"], "src/b.py": "file 644 1:1 bb"}),
        {},
        "COPY: src/b.py changed (owner 0:0 → 1:1)",
    ),
    (
        "several files",
        COPY,
        with_(COPY, files={"src": "dir 755 0:0", "src/a.py": "file 644 0:0 x", "src/c.py": "file 644 0:0 c"}),
        {},
        "COPY: src/a.py changed and 2 more",
    ),
    ("file removed", COPY, with_(COPY, files={"src": "dir 755 0:0"}), {}, "COPY: src/a.py removed and 1 more"),
    (
        "ADD names itself",
        with_(COPY, keyword="ADD"),
        with_(COPY, keyword="ADD", files={**COPY["files"], "src/n.py": "file 644 0:0 n"}),
        {},
        "ADD: src/n.py added",
    ),
    (
        "a variable behind a destination",
        COPY,
        with_(COPY, dest="/srv/"),
        {"old_about": {"vars": {"DIR": ["ARG", "/app"]}}, "about": {"vars": {"DIR": ["ARG", "/srv"]}}},
        "ARG DIR: /app → /srv",
    ),
    ("destination", COPY, with_(COPY, dest="/srv/"), {}, "destination changed: /app/ → /srv/"),
    (
        "the step at this position is another instruction now",
        RUN,
        {"keyword": "WORKDIR", "parent": RUN["parent"], "path": "/app", "user": ""},
        {},
        "instruction changed: RUN → WORKDIR",
    ),
    (
        "another instruction whose variables differ too",
        RUN,
        with_(COPY, parent=RUN["parent"]),
        {"old_about": {"vars": {"V": ["ARG", "1"]}}, "about": {"vars": {}}},
        "instruction changed: RUN → COPY",
    ),
    (
        "SOURCE_DATE_EPOCH",
        with_(RUN, epoch=None),
        with_(RUN, epoch=5),
        {},
        "SOURCE_DATE_EPOCH changed: (unset) → 5",
    ),
    ("mount added", RUN, with_(RUN, mounts=[TMPFS]), {}, "--mount added: type=tmpfs,target=/t"),
    (
        "mount option",
        with_(RUN, mounts=[CACHE_MOUNT]),
        with_(RUN, mounts=[{**CACHE_MOUNT, "uid": 1000}]),
        {},
        "--mount type=cache,target=/c,from=seed,source=/x: uid (unset) → 1000",
    ),
    (
        "mount retargeted",
        with_(RUN, mounts=[CACHE_MOUNT]),
        with_(RUN, mounts=[{**CACHE_MOUNT, "target": "/d"}]),
        {},
        "--mount changed: type=cache,target=/c,from=seed,source=/x → type=cache,target=/d,from=seed,source=/x",
    ),
    (
        "mount seed",
        with_(RUN, mounts=[CACHE_MOUNT]),
        with_(RUN, mounts=[{**CACHE_MOUNT, "content": "sha256:2"}]),
        {},
        "--mount type=cache,target=/c,from=seed,source=/x: seed content changed",
    ),
]


@pytest.mark.parametrize(("old", "new", "kwargs", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_explain(old, new, kwargs, reason):
    assert explain(old, new, **kwargs) == reason


def test_key_is_canonical_and_names_every_part():
    assert key_of(dict(reversed(list(RUN.items())))) == key_of(RUN)
    keys = {key_of(with_(RUN, **{name: "other"})) for name in RUN}
    assert len(keys) == len(RUN) and key_of(RUN) not in keys


def test_a_file_listing_is_keyed_by_its_digest():
    small = keyed(COPY)
    assert "files" not in small and len(small["files_digest"]) == 64
    assert key_of(small) == key_of(COPY)  # a stored record's parts give back its key
    assert keyed(RUN) == RUN
    changed = with_(COPY, files={**COPY["files"], "src/a.py": "file 644 0:0 a2"})
    assert key_of(changed) != key_of(COPY)


def test_chain_id_follows_the_oci_definition():
    a, b, c = ("sha256:" + d * 64 for d in "abc")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert chain_id([]) == "empty"
    assert chain_id([a]) == a
    assert chain_id([a, b]) == ab
    assert chain_id([a, b, c]) == "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
