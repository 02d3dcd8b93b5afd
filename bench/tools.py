"""The builders under test, each behind the same small interface, each with private storage.

- ``Pybuild``: the CLI (``python3 -m builder``) of this checkout, or of a snapshot of one of its commits,
  with its store under the bench directory.
- ``Buildah``: Debian's buildah, ``bud --layers``, runc as the OCI runtime (``--isolation oci``), overlay
  storage under a private ``--root``/``--runroot``, host network (as pybuild's RUN) and ``--pull-never``.
- ``BuildKit``: Docker 26.1's embedded BuildKit v0.13 through ``docker buildx build`` (docker driver: the
  image lands in the daemon's own image store, as pybuild's lands in its store), on the daemon the reference
  script starts (``bench/reference.py`` finds it). Only the bench's own image names are removed there; its
  build cache is pruned before every cold round and at the end (``docker buildx prune -af``).

A tool's ``build_cmd`` (or ``bake_cmd``) is what is timed; ``reset``, ``add_base`` and ``clear_cache`` are
setup and are not. A build for several platforms takes ``platforms`` (``("linux/amd64", "linux/arm64")``); an
empty tuple builds for the machine's own. ``clear_cache`` takes the image names the build makes (one, or one
per target of a bake). A tool with a ``bake_cmd`` builds the targets of a bake file in one command (pybuild,
BuildKit); buildah has none, and the bake workload is not applicable to it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from bench.measure import run_checked
from bench.reference import Reference

REPO = Path(__file__).resolve().parent.parent
RUNC = "/usr/sbin/runc"


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

    def add_base(self, image: str, rootfs: Path, platform: str | None = None) -> None:
        self.run("import", *(["--platform", platform] if platform else []), str(rootfs), image)

    def clear_cache(self, tags: list[str], platforms: tuple[str, ...] = ()) -> None:
        """Before a cold round: the previous round's image(s) unnamed and every build cache record dropped (the
        base images stay: they are tagged)."""
        subprocess.run(self.cli("rmi", "-f", *tags), cwd=self.cwd, env=self.env, capture_output=True)
        subprocess.run(self.cli("prune", "--all"), cwd=self.cwd, env=self.env, capture_output=True)

    def build_cmd(
        self, buildfile: Path, context: Path, tag: str, no_cache: bool, platforms: tuple[str, ...] = ()
    ) -> list[str]:
        extra = ["--no-cache"] if no_cache else []
        if platforms:
            extra += ["--platform", ",".join(platforms)]
        return self.cli("build", "--progress", "plain", "-f", str(buildfile), "-t", tag, *extra, str(context))

    def bake_cmd(self, bakefiles: list[Path], tags: list[str], no_cache: bool) -> list[str]:
        """``pybuild bake`` of the bake files' default group; the images land in the store (``--load`` would
        change nothing there), each tagged as its target says (``tags``, for the clean-up)."""
        extra = ["--no-cache"] if no_cache else []
        files = [arg for path in bakefiles for arg in ("-f", str(path))]
        return self.cli("bake", "--progress", "plain", *files, *extra)

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

    def _output(self, *args: str) -> str:
        """Standard output of a buildah setup command; RuntimeError with its message when it fails."""
        done = subprocess.run(self.cli(*args), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"buildah {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done.stdout.strip()

    def storage_spec(self) -> str:
        """The ``containers-storage:`` transport's store specifier for skopeo."""
        return f"[overlay@{self.root}+{self.runroot}]"

    def reset(self) -> None:
        if self.root.exists():
            subprocess.run(self.cli("rm", "--all"), capture_output=True)
        _unmount_under(self.root, self.runroot)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.runroot, ignore_errors=True)

    def add_base(self, image: str, rootfs: Path, platform: str | None = None) -> None:
        """``buildah from scratch``, copy the root filesystem into its mount, commit: buildah's import."""
        container = self._output("from", "scratch").splitlines()[-1]
        mounted = self._output("mount", container)
        run_checked(["cp", "-a", f"{rootfs}/.", mounted], self.log)
        run_checked(self.cli("umount", container), self.log)
        if platform:
            os_name, arch = platform.split("/")[:2]
            run_checked(self.cli("config", "--os", os_name, "--arch", arch, container), self.log)
        run_checked(self.cli("commit", "--rm", container, f"localhost/{image}"), self.log)

    def clear_cache(self, tags: list[str], platforms: tuple[str, ...] = ()) -> None:
        """Before a cold round: the previous round's image (or manifest list) and the dangling layer images
        that ``--layers`` keeps as its cache removed."""
        for tag in tags:
            subprocess.run(self.cli("manifest", "rm", f"localhost/{tag}"), capture_output=True)
            subprocess.run(self.cli("rmi", "-f", f"localhost/{tag}"), capture_output=True)
        subprocess.run(self.cli("rmi", "--prune"), capture_output=True)

    def build_cmd(
        self, buildfile: Path, context: Path, tag: str, no_cache: bool, platforms: tuple[str, ...] = ()
    ) -> list[str]:
        extra = ["--no-cache"] if no_cache else []
        # Several platforms make a manifest list (buildah's index), each platform's image added to it.
        name = ["--platform", ",".join(platforms), "--manifest", tag] if platforms else ["-t", tag]
        flags = ["--layers", "--runtime", RUNC, "--isolation", "oci", "--network", "host", "--pull-never"]
        return self.cli("bud", *flags, "-f", str(buildfile), *name, *extra, str(context))


class BuildKit:
    """Docker 26.1's BuildKit v0.13 (buildx, docker driver) on the reference daemon."""

    name = "buildkit"
    cwd = None

    def __init__(self, reference: Reference, home: Path, log: Path) -> None:
        self.env = reference.env
        self.version = reference.version
        self.home = home
        self.log = log
        self.images: set[str] = set()
        self.builds = 0

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True)

    def _remove_images(self, names: list[str]) -> None:
        """Remove ``names`` and every image a build of this bench wrote an ID file for: a rebuild that moves
        a tag leaves the previous image untagged, and only its ID finds it (the daemon may be shared, so
        dangling images are never removed wholesale)."""
        ids = []
        for iidfile in sorted(self.home.glob("iid-*")):
            ids += iidfile.read_text().split()
            iidfile.unlink()
        if names or ids:
            self.docker("image", "rm", "-f", *names, *ids)

    def reset(self) -> None:
        """Remove the images this bench made (never another name: the daemon may be shared) and the build
        cache (``buildx prune`` has no filter by builder user, so it is the daemon's whole build cache)."""
        self._remove_images(sorted(self.images))
        self.images.clear()
        self.docker("buildx", "prune", "-af")

    def add_base(self, image: str, rootfs: Path, platform: str | None = None) -> None:
        """``docker import`` of the root filesystem as a tar stream."""
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        with open(self.log, "ab") as out:
            subprocess.run(
                ["docker", "import", *(["--platform", platform] if platform else []), "-", image],
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

    @staticmethod
    def _tags(tag: str, platforms: tuple[str, ...]) -> list[str]:
        """The image names one build makes: ``tag``, or one per platform (``tag-amd64``, ...)."""
        return [f"{tag}-{p.split('/')[1]}" for p in platforms] if platforms else [tag]

    def clear_cache(self, tags: list[str], platforms: tuple[str, ...] = ()) -> None:
        """Before a cold round: the previous round's image(s) removed and the build cache pruned."""
        self._remove_images([name for tag in tags for name in self._tags(tag, platforms)])
        self.docker("buildx", "prune", "-af")

    def build_cmd(
        self, buildfile: Path, context: Path, tag: str, no_cache: bool, platforms: tuple[str, ...] = ()
    ) -> list[str]:
        """``docker buildx build --network host``; its output is the docker driver's default, the image in
        the daemon's store. The docker driver refuses a multi-platform build (and the OCI exporter) unless
        the daemon uses the containerd image store, which the reference daemon does not; so several
        platforms are one build per platform, all started at once and timed together: the same work (each
        platform's image in the store) and the same concurrency as one multi-platform solve, less the index."""
        extra = ["--no-cache"] if no_cache else []
        flags = ["--network", "host", "--progress", "plain", "-f", str(buildfile), *extra]
        tags = self._tags(tag, platforms)
        self.images.update(tags)
        self.home.mkdir(parents=True, exist_ok=True)
        iidfiles = []
        for _ in tags:
            self.builds += 1
            iidfiles.append(str(self.home / f"iid-{self.builds}"))
        if not platforms:
            return ["docker", "buildx", "build", *flags, "--iidfile", iidfiles[0], "-t", tag, str(context)]
        builds = [
            shlex.join(
                ["docker", "buildx", "build", *flags, "--iidfile", i, "--platform", p, "-t", t, str(context)]
            )
            for p, t, i in zip(platforms, tags, iidfiles, strict=True)
        ]
        # Each build in the background; the status is non-zero if any build failed.
        script = "".join(f"{b} & p{i}=$!\n" for i, b in enumerate(builds))
        script += "s=0\n" + "".join(f"wait $p{i} || s=1\n" for i in range(len(builds))) + "exit $s\n"
        return ["sh", "-c", script]

    def bake_cmd(self, bakefiles: list[Path], tags: list[str], no_cache: bool) -> list[str]:
        """``docker buildx bake`` of the bake files' default group with the output the docker driver gives
        by default: each target's image in the daemon's store, as ``buildx build`` leaves it for the other
        workloads (``--load``, ``type=docker``, is the same store on this driver). ``tags`` are remembered
        for removal; a cold round removes them before it builds, so no rebuilt image is left untagged."""
        self.images.update(tags)
        extra = ["--no-cache"] if no_cache else []
        files = [arg for path in bakefiles for arg in ("-f", str(path))]
        return ["docker", "buildx", "bake", "--progress", "plain", *files, *extra]
