"""SIGKILL at named points of a build, a load and a prune (``PYBUILD_FAULT``, see `builder.faults`).

After each kill: ``pybuild store verify`` says the store is sound and leaves no temp file behind; the next
build cleans up what the dead one left (mounts, runc containers, run directories) and produces the very image
a clean build produces (same manifest digest, same exported archive). Prints the counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from builder.faults import POINTS
from tests.hardening.conftest import Cli, age_store, copy_store, mounts_under, runc_containers, write_context
from tests.support import counts

BUILDFILE = """\
FROM busybox
COPY a.txt /a.txt
RUN echo one > /one && sleep 0.1
WORKDIR /w
RUN cat /a.txt > copy && mkdir -p /d && echo x > /d/x
"""
ENV = {"SOURCE_DATE_EPOCH": "1700000000"}

# (point, nth). A clean build of BUILDFILE with its two exports passes: blob.written and blob.renamed 6 times
# (4 layers, config, manifest), layer.* and commit.* 4 times, record.written 13 times, run.* twice,
# overlay.mounted twice (COPY, WORKDIR), apply.entry 285 times (flattening for the local export).
BUILD_TRIALS = [
    *[("blob.written", n) for n in (1, 3, 5, 6)],
    *[("blob.renamed", n) for n in (1, 2, 4, 6)],
    *[("layer.staged", n) for n in (1, 4)],
    *[("layer.committed", n) for n in (2, 3)],
    *[("record.written", n) for n in (1, 4, 7, 10, 13)],
    ("tags.updated", 1),
    *[("apply.entry", n) for n in (1, 150, 285)],
    *[("commit.blob", n) for n in (1, 3)],
    ("commit.recorded", 2),
    *[("commit.done", n) for n in (1, 4)],
    ("image.config", 1),
    ("image.manifest", 1),
    ("run.mounted", 1),
    *[("run.started", n) for n in (1, 2)],
    *[("run.exited", n) for n in (1, 2)],
    *[("overlay.mounted", n) for n in (1, 2)],
    ("export.partial", 1),
    *[("export.flatten", n) for n in (1, 5)],
]
# A load into an empty store unpacks busybox too (about 280 entries); prune --all removes 4 layers.
LOAD_TRIALS = [
    ("load.blob", 1),
    ("load.blob", 3),
    ("apply.entry", 40),
    ("layer.staged", 2),
    ("tags.updated", 1),
]
PRUNE_TRIALS = [("gc.sweep", 1), ("gc.sweep", 3), ("gc.sweep", 6), ("layer.remove", 1), ("layer.remove", 3)]


class Trial:
    """One store and context under ``base``, and the build command whose result must never vary."""

    def __init__(self, template: Path | None, base: Path, context: Path) -> None:
        base.mkdir()
        self.base = base
        self.cli = copy_store(template, base / "store") if template else Cli(base / "store")
        self.context = context

    def build(self, fault: str | None = None, check: bool = True):
        shutil.rmtree(self.base / "local", ignore_errors=True)
        env = dict(ENV, PYBUILD_FAULT=fault) if fault else ENV
        return self.cli(
            "build",
            "-t",
            "crash:1",
            "-o",
            f"type=oci,dest={self.base / 'image.tar'}",
            "-o",
            f"type=local,dest={self.base / 'local'}",
            str(self.context),
            env=env,
            check=check,
        )

    def result(self) -> dict:
        tags = json.loads((self.cli.root / "tags.json").read_text())["tags"]
        archive = hashlib.sha256((self.base / "image.tar").read_bytes()).hexdigest()
        local = sorted(str(p.relative_to(self.base / "local")) for p in (self.base / "local").rglob("*"))
        return {"manifest": tags["docker.io/library/crash:1"], "archive": archive, "local": local}


def _problems_after_kill(trial: Trial) -> list[str]:
    """Check the store right after a kill, then recover with the next build; returns what went wrong."""
    problems = []
    verify = trial.cli("store", "verify", check=False)
    if verify.returncode != 0 or "sound" not in verify.out:
        problems.append(f"store verify: {verify.out.strip()} {verify.err.strip()}")
    leftovers = os.listdir(trial.cli.root / "tmp")
    if leftovers:
        problems.append(f"temp files after Store.open: {leftovers}")
    partial = [name for name in os.listdir(trial.base) if name.startswith(".")]
    if partial:
        problems.append(f"partial export files beside the destination: {partial}")
    return problems


def _problems_after_recovery(trial: Trial) -> list[str]:
    problems = []
    if mounts_under(trial.cli.root):
        problems.append(f"mounts left: {mounts_under(trial.cli.root)}")
    if runc_containers(trial.cli.root):
        problems.append(f"runc containers left: {runc_containers(trial.cli.root)}")
    runs = trial.cli.root / "state" / "runtime" / "runs"
    if runs.is_dir() and os.listdir(runs):
        problems.append(f"run directories left: {os.listdir(runs)}")
    if os.listdir(trial.cli.root / "tmp"):
        problems.append(f"temp files left: {os.listdir(trial.cli.root / 'tmp')}")
    verify = trial.cli("store", "verify", check=False)
    if verify.returncode != 0:
        problems.append(
            f"store verify after recovery: exit {verify.returncode} {verify.out.strip()} {verify.err[-500:]}"
        )
    return problems


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    return write_context(tmp_path_factory.mktemp("ctx"), BUILDFILE, {"a.txt": "hello\n"})


@pytest.fixture(scope="module")
def clean(template_store, tmp_path_factory, context) -> dict:
    """The result of an uninterrupted build in a fresh store."""
    trial = Trial(template_store, tmp_path_factory.mktemp("clean") / "t", context)
    trial.build()
    return trial.result()


def test_every_trial_names_a_real_point():
    for point, _ in BUILD_TRIALS + LOAD_TRIALS + PRUNE_TRIALS:
        assert point in POINTS


def test_sigkill_during_build(template_store, tmp_path, context, clean):
    failures = []
    for number, (point, nth) in enumerate(BUILD_TRIALS):
        trial = Trial(template_store, tmp_path / f"t{number}", context)
        killed = trial.build(f"{point}:{nth}", check=False)
        label = f"{point}:{nth}"
        if killed.returncode != -signal.SIGKILL:
            failures.append(f"{label}: not killed (exit {killed.returncode}) {killed.err[-300:]}")
            continue
        problems = _problems_after_kill(trial)
        rebuilt = trial.build(check=False)
        if rebuilt.returncode != 0:
            problems.append(f"next build failed: {rebuilt.err[-500:]}")
        else:
            problems += _problems_after_recovery(trial)
            if trial.result() != clean:
                problems.append(f"next build differs: {trial.result()} != {clean}")
        failures += [f"{label}: {p}" for p in problems]
        shutil.rmtree(trial.base, ignore_errors=True)
    counts.record(f"crash trials during build: {len(BUILD_TRIALS)}, failures: {len(failures)}")
    assert not failures, "\n".join(failures)


def test_sigkill_during_load_and_prune(template_store, tmp_path, context, clean):
    archive = tmp_path / "clean.tar"
    source = Trial(template_store, tmp_path / "source", context)
    source.build()
    shutil.copy(source.base / "image.tar", archive)
    failures = []
    for number, (point, nth) in enumerate(LOAD_TRIALS):
        trial = Trial(None, tmp_path / f"l{number}", context)
        killed = trial.cli("load", "-i", str(archive), env={"PYBUILD_FAULT": f"{point}:{nth}"}, check=False)
        problems = [] if killed.returncode == -signal.SIGKILL else [f"not killed (exit {killed.returncode})"]
        problems += _problems_after_kill(trial)
        again = trial.cli("load", "-i", str(archive), check=False)
        if again.returncode != 0 or trial.cli("store", "verify", check=False).returncode != 0:
            problems.append(f"load after the kill failed: {again.err[-300:]}")
        elif "Loaded image: crash:1" not in again.out:
            problems.append(f"load printed {again.out!r}")
        failures += [f"load {point}:{nth}: {p}" for p in problems]
    for number, (point, nth) in enumerate(PRUNE_TRIALS):
        trial = Trial(template_store, tmp_path / f"p{number}", context)
        trial.build()
        trial.cli("rmi", "crash:1")
        age_store(trial.cli.root, 7200)
        killed = trial.cli("prune", "--all", env={"PYBUILD_FAULT": f"{point}:{nth}"}, check=False)
        problems = [] if killed.returncode == -signal.SIGKILL else [f"not killed (exit {killed.returncode})"]
        problems += _problems_after_kill(trial)
        trial.cli("prune", "--all")
        rebuilt = trial.build(check=False)
        if rebuilt.returncode != 0 or trial.result() != clean:
            problems.append(f"build after the kill differs or failed: {rebuilt.err[-300:]}")
        failures += [f"prune {point}:{nth}: {p}" for p in problems]
    total = len(LOAD_TRIALS) + len(PRUNE_TRIALS)
    counts.record(f"crash trials during load and prune: {total}, failures: {len(failures)}")
    assert not failures, "\n".join(failures)
