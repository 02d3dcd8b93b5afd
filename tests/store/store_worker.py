"""A separate process using a store, driven by the tests in this directory (not a test module itself).

store_worker.py hammer ROOT ID ROUNDS GO_FILE COUNTER_FILE
store_worker.py killme ROOT          prints "ready <staging>" mid-put, then waits to be killed
store_worker.py hold ROOT            prints "ready <staging>", then waits for stdin to close
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

from builder.store import Store

SHARED = b"shared blob content\n" * 50_000  # ~1 MB, the same in every worker
LAYER_FILES = {"etc/hostname": b"layer\n", "usr/bin/tool": b"\x7fELF" + b"\0" * 4096}
LAYER_DIFF_ID = "sha256:" + hashlib.sha256(b"the shared test layer").hexdigest()


def hammer(root: str, ident: str, rounds: int, go_file: str, counter_file: str) -> None:
    store = Store.open(root)
    while not os.path.exists(go_file):
        time.sleep(0.001)

    def unpack(staging: Path) -> str:
        with open(counter_file, "a") as f:
            f.write(f"{ident}\n")
        for name, data in LAYER_FILES.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        time.sleep(0.05)  # widen the window in which a second process would collide
        return LAYER_DIFF_ID

    for i in range(rounds):
        with store.blob_writer() as w:
            for off in range(0, len(SHARED), 65536):
                w.write(SHARED[off : off + 65536])
            w.commit()
        own = store.put_blob(f"worker {ident} round {i}\n".encode())
        manifest = store.put_blob(
            b'{"schemaVersion": 2, "config": {"digest": "%s", "size": %d}, "layers": []}'
            % (own.encode(), store.blob_size(own))
        )
        store.set_tag(f"w{ident}:{i}", manifest)
        store.set_tag("shared:latest", manifest)
        store.ensure_layer(LAYER_DIFF_ID, unpack)
        # Also the plain staging + commit path, racing on a second layer.
        staging = store.staging_dir()
        (staging / "marker").write_text("same content everywhere\n")
        store.commit_layer(staging, "sha256:" + "ab" * 32)
    store.close()


def killme(root: str) -> None:
    store = Store.open(root)
    staging = store.staging_dir()
    (staging / "half-unpacked").write_bytes(b"x" * 1000)
    w = store.blob_writer()
    w.write(b"\xee" * (8 << 20))
    w.flush()
    print("ready", staging, flush=True)
    while True:
        w.write(b"\xee" * 4096)
        time.sleep(0.01)


def hold(root: str) -> None:
    store = Store.open(root)
    staging = store.staging_dir()
    (staging / "in-progress").write_text("still working\n")
    print("ready", staging, flush=True)
    sys.stdin.read()
    store.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "hammer":
        hammer(args[0], args[1], int(args[2]), args[3], args[4])
    elif command == "killme":
        killme(args[0])
    elif command == "hold":
        hold(args[0])
    else:
        raise SystemExit(f"unknown command {command}")
