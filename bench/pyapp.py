"""The context of the python-app workload: a Python web-shop-like application with its own wheelhouse.

Everything is generated here, seeded, with no network and no build backend: ``wheels/`` holds
``WHEELS`` pure-Python wheels (written as zip files with their ``.dist-info``: METADATA with
``Requires-Dist`` between them, WHEEL, RECORD with sha256 digests), ``requirements.txt`` names the top-level
ones (pip resolves the rest from ``wheels/`` with ``--no-index --find-links``), ``src/shopapp/`` holds
``SUBPACKAGES`` x ``MODULES`` modules importing those libraries plus static assets, ``tests/`` unittest
files that import and exercise the modules. ``touch_source`` changes one module between rounds.
"""

from __future__ import annotations

import base64
import hashlib
import random
import shutil
import time
import zipfile
from pathlib import Path

WHEELS = 24
WHEEL_MODULES = 15
TOP_LEVEL = 8
SUBPACKAGES = ("core", "catalog", "orders", "billing", "users", "search", "shipping", "reports", "api", "util")
MODULES = 20
ASSETS = 200
ASSET_BYTES = 8_000
TEST_FILES = 20
TOUCHED = Path("src") / "shopapp" / "core" / "mod_010.py"
_EPOCH = (2024, 1, 1, 0, 0, 0)


def _lib(index: int) -> str:
    return f"benchlib_{index:02d}"


def _module_text(rng: random.Random, title: str, imports: list[str], functions: int) -> str:
    """A module of ``functions`` small functions and a dataclass, importing ``imports`` (module paths)."""
    lines = [f'"""{title}: generated for the benchmark."""', "", "from __future__ import annotations", ""]
    lines += ["import dataclasses", *(f"import {name}" for name in imports), ""]
    lines += [f"CONSTANT = {rng.randint(1, 10**6)}", "", "", "@dataclasses.dataclass", "class Record:"]
    lines += ["    key: str", "    value: int", "", "    def score(self) -> int:"]
    factor, modulus = rng.randint(3, 97), rng.randint(101, 9973)
    lines += [f"        return (self.value * {factor} + len(self.key)) % {modulus}", ""]
    for number in range(functions):
        a, b, c = rng.randint(2, 99), rng.randint(100, 9999), rng.randint(1, 7)
        lines += ["", f"def compute_{number}(items: list[int]) -> int:"]
        lines += [f'    """Fold ``items`` (variant {c})."""', "    total = CONSTANT", "    for item in items:"]
        lines += [f"        total = (total * {a} + item) % {b}", f"        total ^= item << {c}"]
        lines += ["    return total", ""]
    return "\n".join(lines) + "\n"


def _record_digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write_wheel(directory: Path, index: int, requires: list[int], rng: random.Random) -> None:
    name = _lib(index)
    dist_info = f"{name}-1.0.0.dist-info"
    files: dict[str, bytes] = {f"{name}/__init__.py": f'"""{name}."""\n__version__ = "1.0.0"\n'.encode()}
    for module in range(WHEEL_MODULES):
        imports = [f"{_lib(r)}.mod_{module % WHEEL_MODULES:02d}" for r in requires]
        text = _module_text(rng, f"{name}.mod_{module:02d}", imports, 6)
        files[f"{name}/mod_{module:02d}.py"] = text.encode()
    metadata = ["Metadata-Version: 2.1", f"Name: {name.replace('_', '-')}", "Version: 1.0.0"]
    metadata += [f"Summary: benchmark library {index}"]
    metadata += [f"Requires-Dist: {_lib(r).replace('_', '-')}==1.0.0" for r in requires]
    files[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    wheel = "Wheel-Version: 1.0\nGenerator: pybuild-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist_info}/WHEEL"] = wheel.encode()
    files[f"{dist_info}/top_level.txt"] = f"{name}\n".encode()
    record = [f"{path},{_record_digest(data)},{len(data)}" for path, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(directory / f"{name}-1.0.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, _EPOCH), data, zipfile.ZIP_DEFLATED)


def _dependencies(index: int) -> list[int]:
    """Library ``index`` requires the two before it (a chain that makes pip resolve every wheel)."""
    return [r for r in (index - 1, index - 2) if r >= 0]


def make(dest: Path) -> Path:
    """The whole context at ``dest``, made once (in ``dest.partial``, renamed when complete)."""
    if dest.exists():
        return dest
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    rng = random.Random(17)
    wheels = partial / "wheels"
    wheels.mkdir(parents=True)
    for index in range(WHEELS):
        _write_wheel(wheels, index, _dependencies(index), rng)
    top = range(WHEELS - TOP_LEVEL, WHEELS)
    (partial / "requirements.txt").write_text("".join(f"{_lib(i).replace('_', '-')}==1.0.0\n" for i in top))
    (partial / "pyproject.toml").write_text(
        '[project]\nname = "shopapp"\nversion = "1.0.0"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{', '.join(repr(_lib(i).replace('_', '-')) for i in top)}]\n"
    )
    package = partial / "src" / "shopapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""shopapp."""\n__version__ = "1.0.0"\n')
    (package / "__main__.py").write_text("import shopapp\n\nprint('shopapp', shopapp.__version__)\n")
    for sub in SUBPACKAGES:
        (package / sub).mkdir()
        (package / sub / "__init__.py").write_text(f'"""shopapp.{sub}."""\n')
        for module in range(MODULES):
            imports = [f"{_lib(i)}.mod_{module % WHEEL_MODULES:02d}" for i in rng.sample(list(top), 2)]
            text = _module_text(rng, f"shopapp.{sub}.mod_{module:03d}", imports, 10)
            (package / sub / f"mod_{module:03d}.py").write_text(text)
    static = package / "static"
    static.mkdir()
    for asset in range(ASSETS):
        (static / f"asset_{asset:03d}.bin").write_bytes(rng.randbytes(ASSET_BYTES))
    tests = partial / "tests"
    tests.mkdir()
    for number in range(TEST_FILES):
        sub = SUBPACKAGES[number % len(SUBPACKAGES)]
        modules = [f"shopapp.{sub}.mod_{m:03d}" for m in range(number % 2, MODULES, 2)]
        body = ["import importlib", "import unittest", "", "", f"class Test{number}(unittest.TestCase):"]
        body += [f"    MODULES = {modules!r}", "", "    def test_compute(self) -> None:"]
        body += ["        for name in self.MODULES:", "            module = importlib.import_module(name)"]
        body += ["            self.assertIsInstance(module.compute_0([1, 2, 3]), int)"]
        body += ["            self.assertGreaterEqual(module.Record('k', 5).score(), 0)", ""]
        (tests / f"test_{number:02d}.py").write_text("\n".join(body) + "\n")
    partial.rename(dest)
    return dest


def touch_source(context: Path, round_no: int) -> None:
    """Change one module of the application (a new constant at its end) before a warm round."""
    path = context / TOUCHED
    text = path.read_text().split("\nTOUCHED = ")[0].rstrip("\n") + "\n"
    path.write_text(text + f"\nTOUCHED = {f'{round_no}-{time.time_ns()}'!r}\n")
