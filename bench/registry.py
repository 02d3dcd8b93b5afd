"""Push and pull of the biglayer image through a local registry, pybuild beside ``skopeo copy``.

The registry is Debian's ``docker-registry`` (the distribution registry) on 127.0.0.1 with its storage
under the bench directory; it is wiped and restarted before every push, so each push uploads every blob.
Sources and destinations, chosen so both sides do the same work:

- push: pybuild from its store (compressed blobs already stored) · skopeo from an OCI layout that
  ``pybuild save --format oci-dir`` wrote of the same image (the same blobs, nothing to recompress);
- pull: pybuild into a fresh store (which keeps layers unpacked) · skopeo into a fresh containers-storage
  (overlay, which unpacks too).

pybuild's side runs only when its CLI has ``push``/``pull`` commands; otherwise those cells say "not yet".
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.measure import Measured, measure, run_checked

IMAGE_PATH = "bench/biglayer:1"
SOURCE = "bench-biglayer-cold:1"


class Registry:
    """A ``docker-registry serve`` process on a free 127.0.0.1 port; ``restart(wipe=True)`` empties it."""

    def __init__(self, home: Path, log: Path) -> None:
        self.home = home
        self.log = log
        self.proc: subprocess.Popen | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    def start(self) -> None:
        data = self.home / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.home / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {data}\n  delete:\n    enabled: true\nhttp:\n  addr: {self.address}\n"
        )
        out = open(self.log, "ab")  # noqa: SIM115 - the registry's output goes to the log while it runs
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=out, stderr=out)
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not answer on {self.address}; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def restart(self, wipe: bool) -> None:
        self.stop()
        if wipe:
            shutil.rmtree(self.home / "data", ignore_errors=True)
        self.start()


def run_push_pull(pybuild, buildah, bench: Path, rounds: int, log: Path) -> dict:
    """Time push and pull of ``bench-biglayer-cold:1`` (built by the biglayer group, which must have run in
    this process) ``rounds`` times; returns {"push": {tool: [...]}, "pull": {...}} like the build groups."""
    has = pybuild.commands("push", "pull")
    registry = Registry(bench / "registry", log)
    layout = bench / "push-source"
    shutil.rmtree(layout, ignore_errors=True)
    pybuild.run("save", "--format", "oci-dir", "-o", str(layout), SOURCE)
    remote = f"{registry.address}/{IMAGE_PATH}"
    results: dict[str, dict[str, list[Measured]]] = {
        "push": {"pybuild": [], "skopeo": []},
        "pull": {"pybuild": [], "skopeo": []},
    }
    insecure = ["--dest-tls-verify=false"]
    try:
        registry.start()
        for round_no in range(rounds):
            if "push" in has:
                registry.restart(wipe=True)
                results["push"]["pybuild"].append(
                    measure(pybuild.cli("push", SOURCE, remote), log, cwd=pybuild.cwd, env=pybuild.env)
                )
            registry.restart(wipe=True)
            skopeo = ["skopeo", "copy", "--quiet", *insecure, f"oci:{layout}", f"docker://{remote}"]
            results["push"]["skopeo"].append(measure(skopeo, log))
            if "pull" in has:
                fresh = type(pybuild)(bench / "pull-store", log, pybuild.cwd)
                fresh.reset()
                results["pull"]["pybuild"].append(
                    measure(fresh.cli("pull", remote), log, cwd=pybuild.cwd, env=pybuild.env)
                )
                fresh.reset()
            store = type(buildah)(bench / "pull-containers-storage", log)
            store.reset()
            dest = f"containers-storage:{store.storage_spec()}{remote}"
            pull = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{remote}", dest]
            results["pull"]["skopeo"].append(measure(pull, log))
            store.reset()
            for kind in ("push", "pull"):
                for tool, runs in results[kind].items():
                    if len(runs) == round_no + 1:
                        print(f"  {kind:14} round {round_no + 1}/{rounds} {tool:9} {runs[-1].seconds:8.2f}s")
    finally:
        registry.stop()
    if "push" not in has:
        del results["push"]["pybuild"]
    if "pull" not in has:
        del results["pull"]["pybuild"]
    run_checked(["rm", "-rf", str(layout)], log)
    return results
