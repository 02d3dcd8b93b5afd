"""``--chmod`` of COPY and ADD: octal (``0755``) or symbolic as chmod(1) (``u+x,g=r,o-w,a+X``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from builder.errors import BuildError

_SYMBOLIC = re.compile(r"^([ugoa]*)([-+=])([rwxXst]*|[ugo])$")


def parse_chmod(spec: str) -> Callable[[int, bool], int]:
    """``--chmod`` as a function (old mode, is a directory) → new mode. Octal: its permission bits (set-id
    and sticky bits included, as BuildKit v0.13 keeps them); symbolic, as chmod(1): ``u+x,g=r,o-w,a+X``."""
    if re.fullmatch(r"[0-7]+", spec):
        bits = int(spec, 8) & 0o7777
        return lambda _mode, _is_dir: bits
    clauses = []
    for clause in spec.split(","):
        match = _SYMBOLIC.match(clause)
        if not match:
            raise BuildError(f"invalid --chmod {spec!r}: expected an octal mode or symbolic like u+x,g=r")
        clauses.append(match.groups())

    def apply(mode: int, is_dir: bool) -> int:
        for who, op, perms in clauses:
            mode = _apply_clause(mode, is_dir, who or "a", op, perms)
        return mode

    return apply


def _apply_clause(mode: int, is_dir: bool, who: str, op: str, perms: str) -> int:
    shifts = {"u": 6, "g": 3, "o": 0}
    targets = "ugo" if "a" in who else who
    if perms in shifts:  # copy another class's bits: g=u
        value = (mode >> shifts[perms]) & 7
        bits = sum(value << shifts[t] for t in targets)
    else:
        bits = 0
        for t in targets:
            value = (4 if "r" in perms else 0) | (2 if "w" in perms else 0)
            if "x" in perms or ("X" in perms and (is_dir or mode & 0o111)):
                value |= 1
            bits |= value << shifts[t]
            if "s" in perms and t in "ug":
                bits |= 0o4000 if t == "u" else 0o2000
        if "t" in perms:
            bits |= 0o1000
    if op == "+":
        return mode | bits
    if op == "-":
        return mode & ~bits
    cleared = mode
    for t in targets:
        cleared &= ~(7 << shifts[t]) & ~(0o4000 if t == "u" else 0o2000 if t == "g" else 0o1000)
    return cleared | bits
