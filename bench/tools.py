"""The builders under test, each behind the same small interface, each with private storage.

- ``Pybuild``: the CLI (``python3 -m builder``) of this checkout, or of a snapshot of one of its commits,
  with its store under the bench directory.
- ``Buildah``: Debian's buildah, ``bud --layers``, runc as the OCI runtime (``--isolation oci``), overlay
  storage under a private ``--root``/``--runroot``, host network (as pybuild's RUN) and ``--pull-never``.
- ``BuildKit``: Docker 20.10's embedded BuildKit started by ``/work/shared/tools/reference-buildkit.sh``
  (optional; a shared daemon, so only the bench's own image names are created or removed there).

A tool's ``build_cmd`` is what is timed; ``reset`` and ``add_base`` are setup and are not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.measure import run_checked

REPO = Path(__file__).resolve().parent.parent
RUNC = "/usr/sbin/runc"
REFERENCE_BUILDKIT = Path("/work/shared/tools/reference-buildkit.sh")


def _unmount_under(*roots: Path) -> None:
    """Unmount whatever is mounted below ``roots`` (deepest first): containers/storage leaves its overlay
    home bind-mounted onto itself, and a directory tree with live mounts must not be deleted."""
    prefixes = [str(r.resolve()) + "/" for r in roots] + [str(r.resolve()) for r in roots]
    with open("/proc/self/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    for point in sorted({p for p in points if any(p.startswith(x) for x in prefixes)}, key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)


class Pybuild:
    """pybuild from this checkout, store at ``home/store``."""

    name = "pybuild"

    def __init__(self, home: Path, log: Path, source: Path = REPO) -> None:
        self.store = home / "store"
        self.log = log
        self.cwd = source
        # Measured as installed: with its bytecode cached. An environment that forbids writing .pyc files
        # (PYTHONDONTWRITEBYTECODE) would add a compile of every module to each run.
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-m", "compileall", "-q", "builder"], cwd=source, capture_output=True)

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "builder", "--root", str(self.store), *args]

    def run(self, *args: str) -> None:
        run_checked(self.cli(*args), self.log, cwd=self.cwd, env=self.env)

    def reset(self) -> None:
        _unmount_under(self.store)
        shutil.rmtree(self.store, ignore_errors=True)

    def add_base(self, image: str, rootfs: Path) -> None:
        self.run("import", str(rootfs), image)

    def build_cmd(self, buildfile: Path, context: Path, tag: str, no_cache: bool) -> list[str]:
        extra = ["--no-cache"] if no_cache else []
        return self.cli("build", "--progress", "plain", "-f", str(buildfile), "-t", tag, *extra, str(context))

    def commands(self, *names: str) -> set[str]:
        """Those of ``names`` that the CLI has as working subcommands (to tell whether push/pull exist yet)."""
        return {
            name
            for name in names
            if subprocess.run(
                self.cli(name, "--help"), cwd=self.cwd, env=self.env, capture_output=True
            ).returncode
            == 0
        }


class Buildah:
    """Debian's buildah with private overlay storage under ``home``."""

    name = "buildah"
    env = None
    cwd = None

    def __init__(self, home: Path, log: Path) -> None:
        self.root = home / "root"
        self.runroot = home / "runroot"
        self.log = log

    def cli(self, *args: str) -> list[str]:
        storage = ["--root", str(self.root), "--runroot", str(self.runroot), "--storage-driver", "overlay"]
        return ["buildah", *storage, *args]

    def storage_spec(self) -> str:
        """The ``containers-storage:`` transport's store specifier for skopeo."""
        return f"[overlay@{self.root}+{self.runroot}]"

    def reset(self) -> None:
        if self.root.exists():
            subprocess.run(self.cli("rm", "--all"), capture_output=True)
        _unmount_under(self.root, self.runroot)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.runroot, ignore_errors=True)

    def add_base(self, image: str, rootfs: Path) -> None:
        """``buildah from scratch``, copy the root filesystem into its mount, commit: buildah's import."""
        made = subprocess.run(self.cli("from", "scratch"), capture_output=True, text=True, check=True)
        container = made.stdout.strip().splitlines()[-1]
        mounted = subprocess.run(self.cli("mount", container), capture_output=True, text=True, check=True)
        run_checked(["cp", "-a", f"{rootfs}/.", mounted.stdout.strip()], self.log)
        run_checked(self.cli("umount", container), self.log)
        run_checked(self.cli("commit", "--rm", container, f"localhost/{image}"), self.log)

    def build_cmd(self, buildfile: Path, context: Path, tag: str, no_cache: bool) -> list[str]:
        extra = ["--no-cache"] if no_cache else []
        flags = ["--layers", "--runtime", RUNC, "--isolation", "oci", "--network", "host", "--pull-never"]
        return self.cli("bud", *flags, "-f", str(buildfile), "-t", tag, *extra, str(context))


class BuildKit:
    """Docker 20.10's BuildKit on the reference daemon; ``env`` is the environment its script prints."""

    name = "buildkit"
    cwd = None

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.images: set[str] = set()

    @classmethod
    def start(cls, log: Path) -> BuildKit | None:
        """Start (or find) the reference daemon; None when it cannot run here."""
        if not REFERENCE_BUILDKIT.exists():
            return None
        got = subprocess.run([str(REFERENCE_BUILDKIT)], capture_output=True, text=True)
        if got.returncode != 0:
            return None
        env = dict(os.environ)
        for assignment in got.stdout.replace("export ", "").split():
            key, _, value = assignment.partition("=")
            env[key] = value.strip('"').replace("$PATH", os.environ.get("PATH", ""))
        if subprocess.run(["docker", "info"], env=env, capture_output=True).returncode != 0:
            return None
        return cls(env, log)

    def reset(self) -> None:
        """Remove the images this bench made (never anything else: the daemon is shared)."""
        if self.images:
            subprocess.run(["docker", "rmi", "-f", *sorted(self.images)], env=self.env, capture_output=True)
            self.images.clear()

    def add_base(self, image: str, rootfs: Path) -> None:
        """``docker import`` of the root filesystem as a tar stream."""
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        with open(self.log, "ab") as out:
            subprocess.run(
                ["docker", "import", "-", image],
                stdin=tar.stdout,
                env=self.env,
                stdout=out,
                stderr=out,
                check=True,
            )
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError(f"tar of {rootfs} failed")
        self.images.add(image)

    def build_cmd(self, buildfile: Path, context: Path, tag: str, no_cache: bool) -> list[str]:
        self.images.add(tag)
        extra = ["--no-cache"] if no_cache else []
        flags = ["--network", "host", "--progress", "plain"]
        return ["docker", "build", *flags, "-f", str(buildfile), "-t", tag, *extra, str(context)]
