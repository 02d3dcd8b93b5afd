"""No import cycles in the ``builder`` package: between modules, and between its top-level parts.

The graph is read statically by grimp (the graph library under import-linter): every ``import`` and ``from``
statement of every module under ``builder/`` in this checkout, wherever it stands — at module level, inside a
function (a lazy import that closes a cycle is still a cycle: it only moves the failure to run time), and
inside ``if TYPE_CHECKING:`` blocks (counted too: a type-only import still makes two modules know each
other, and it is the usual way a cycle is hidden rather than broken). Imports of other packages are left out.

Two checks:

* modules: every elementary cycle of the module graph must be listed in `ALLOWED_MODULE_CYCLES`;
* parts (a subpackage such as ``builder.store`` or a top-level module such as ``builder.cache``, each taken
  whole): no cycle, but for those in `ALLOWED_PART_CYCLES`. The entry points — the package itself (the
  Python API), ``builder.cli``, ``builder.commands`` and every ``__main__`` — sit above everything and may
  import any part, so they are left out of this check (the module check still covers them).

An allowlist entry that no longer matches a cycle fails the test too, so each list only shrinks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "builder"

#: Module cycles still allowed, one per line, written from its smallest module name. None: the middle of the
#: build (ops, solver, effects) has none.
ALLOWED_MODULE_CYCLES: frozenset[str] = frozenset()

#: Cycles between top-level parts (same form). None today.
ALLOWED_PART_CYCLES: frozenset[str] = frozenset()


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, exclude_type_checking_imports=False, cache_dir=None)


def _edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def elementary_cycles(edges: Mapping[str, Iterable[str]], limit: int = 10_000) -> set[tuple[str, ...]]:
    """Every elementary cycle of the directed graph ``edges``, each as the tuple of its nodes starting at its
    smallest. Each cycle is found once, from its smallest node, walking only through larger ones."""
    found: set[tuple[str, ...]] = set()
    for start in sorted(edges):
        path, on_path = [start], {start}
        stack = [iter(sorted(n for n in edges[start] if n >= start))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                on_path.discard(path.pop())
            elif following == start:
                found.add(tuple(path))
                assert len(found) <= limit, "too many cycles to list; break the biggest knot first"
            elif following not in on_path:
                path.append(following)
                on_path.add(following)
                stack.append(iter(sorted(n for n in edges.get(following, ()) if n >= start)))
    return found


def _shown(cycle: tuple[str, ...]) -> str:
    return " -> ".join((*cycle, cycle[0]))


def _where(graph: grimp.ImportGraph, cycle: tuple[str, ...], modules_of) -> list[str]:
    """Each import that closes ``cycle``, as ``module:line: statement``."""
    lines = []
    for importer_part, imported_part in zip(cycle, (*cycle[1:], cycle[0]), strict=True):
        for importer in sorted(modules_of(importer_part)):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                if imported in modules_of(imported_part):
                    for detail in graph.get_import_details(importer=importer, imported=imported):
                        lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return lines


def _report(graph, cycles: set[tuple[str, ...]], allowed: frozenset[str], modules_of) -> list[str]:
    shown = {_shown(c): c for c in cycles}
    problems = []
    for text in sorted(set(shown) - allowed):
        problems.append(f"import cycle {text}:")
        problems.extend(_where(graph, shown[text], modules_of))
    problems.extend(
        f"allowed cycle {text} is gone: remove it from the allowlist" for text in sorted(allowed - set(shown))
    )
    return problems


def part_of(module: str) -> str | None:
    """The top-level part ``module`` belongs to (``builder.store.gc`` → ``builder.store``), or None for the
    entry points, which may import anything."""
    names = module.split(".")
    if len(names) == 1 or names[1] in ("__main__", "cli", "commands") or names[-1] == "__main__":
        return None
    return ".".join(names[:2])


def test_the_graph_is_this_checkouts_whole_package():
    graph = _graph()
    on_disk = set()
    for path in (REPO / PACKAGE).rglob("*.py"):
        names = path.relative_to(REPO).with_suffix("").parts
        on_disk.add(".".join(names[:-1] if names[-1] == "__init__" else names))
    assert graph.modules == on_disk


def test_no_import_cycles_between_modules():
    graph = _graph()
    cycles = elementary_cycles(_edges(graph))
    problems = _report(graph, cycles, ALLOWED_MODULE_CYCLES, lambda module: {module})
    assert not problems, "\n".join(problems)


def test_no_import_cycles_between_parts():
    graph = _graph()
    members: dict[str, set[str]] = {}
    for module in graph.modules:
        part = part_of(module)
        if part is not None:
            members.setdefault(part, set()).add(module)
    edges: dict[str, set[str]] = {part: set() for part in members}
    for importer, imported_modules in _edges(graph).items():
        source = part_of(importer)
        for imported in imported_modules:
            target = part_of(imported)
            if source is not None and target is not None and source != target:
                edges[source].add(target)
    cycles = elementary_cycles(edges)
    problems = _report(graph, cycles, ALLOWED_PART_CYCLES, lambda part: members[part])
    assert not problems, "\n".join(problems)


def test_the_cycle_finder_finds_each_cycle_once():
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": {"a", "c"}, "d": {"a"}}
    assert elementary_cycles(edges) == {("a", "b"), ("a", "b", "c"), ("c",)}
    assert elementary_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()
