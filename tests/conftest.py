"""Suite-wide pytest hooks: the robustness counts, and the ``root`` marker set from what each test uses.

``pytest -m "not root"`` is the fast suite of everything pure, which any user can run; ``-m root`` the rest
(CI runs the whole suite, as root). A test is marked ``root`` when it

* uses a fixture named in `ROOT_FIXTURES` (pytest gives the hook each test's whole closure of fixtures, so
  a fixture built on one of them counts too): a registry images go through, a mount, a user made;
* calls, in its own code, in its fixtures' or through the suite's own functions they use, a function that
  needs root (`_root_calls`): one that runs the CLI or the API (``tests.support.images.pybuild``,
  ``builder.cli.main``), applies layers, mounts, runs containers, or gives files other owners, device
  nodes or xattrs (``os.chown``, ``os.mknod``, ``os.setxattr``: over-marking a test that uses them within a
  user's rights costs only speed);
* or says so itself (``@pytest.mark.root``) when what needs root is out of sight: the CLI or a container in
  a child process, a mount by ``mount(8)``, owners changed inside the code under test, or root reading and
  writing past file modes.
"""

from __future__ import annotations

import inspect
import os
import sys
import types

import pytest

from tests.support import counts

#: Fixtures whose use needs root that `_root_calls` cannot see, by name: registries images go through (a
#: ``docker-registry`` process), mounts, and users made for a test.
ROOT_FIXTURES = frozenset(
    {
        "registry",
        "basic_registry",
        "token_registry",
        "far_registry",
        "proxy",
        "tmpfs",
        "small_store",
        "user",
        "plain_user",
    }
)


def _root_calls() -> tuple[frozenset, tuple[type, ...]]:
    """The functions whose call needs root, and the classes whose use does (subclasses too): looked up
    when collection ends, so that importing this module costs nothing."""
    import builder
    from builder import cli, executor
    from builder.layer import apply, whiteouts
    from builder.runtime import overlaymode
    from builder.runtime.overlay import overlay as mount_overlay
    from builder.runtime.runc import run_step
    from tests.build.conftest import Pybuild
    from tests.support import images

    functions = {
        images.pybuild,  # the CLI on a store, as root
        images.import_busybox,
        cli.main,  # every command but ``info`` enters pybuild's user namespace unless run by root
        builder.build,
        executor.build,
        apply.apply_layer,  # owners, device nodes and trusted xattrs
        whiteouts.to_kernel_form,
        whiteouts.make_whiteout,
        whiteouts.mark_opaque,
        mount_overlay,
        overlaymode.choose,
        overlaymode.probe_kernel,
        overlaymode.probe_fuse,
        run_step,
        # what only root may do to files: other owners, device nodes, ``trusted.`` xattrs
        os.chown,
        os.lchown,
        os.mknod,
        os.setxattr,
    }
    return frozenset(functions), (Pybuild, images.Podman)


def _names(code: types.CodeType) -> set[str]:
    """Every global, attribute or imported name ``code`` and the functions nested in it use."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _calls_root(function, root: tuple[frozenset, tuple[type, ...]], seen: set) -> bool:
    """Whether ``function`` uses one of the ``root`` calls: by name, as ``module.name``, through an import
    inside it, or through a function or class of the test suite it uses."""
    if function in seen or getattr(function, "__code__", None) is None:
        return False
    seen.add(function)
    names = _names(function.__code__)
    for name in names:
        value = function.__globals__.get(name, sys.modules.get(name))
        if value is None:
            continue
        if isinstance(value, types.ModuleType):
            if any(_is_root(getattr(value, attribute, None), root) for attribute in names):
                return True
            continue
        if _is_root(value, root):
            return True
        from_tests = (getattr(value, "__module__", None) or "").startswith("tests.")
        if from_tests and any(_calls_root(inner, root, seen) for inner in _functions_of(value)):
            return True
    return False


def _is_root(value, root: tuple[frozenset, tuple[type, ...]]) -> bool:
    functions, classes = root
    if inspect.isclass(value):
        return issubclass(value, classes)
    try:
        return value in functions
    except TypeError:  # unhashable
        return False


def _functions_of(value) -> list:
    if inspect.isfunction(value):
        return [value]
    if inspect.isclass(value):
        return [member for _, member in inspect.getmembers(value, inspect.isfunction)]
    return []


def _unwrapped(function):
    """The test's own function under decorators (hypothesis' ``@given`` keeps it as ``inner_test``)."""
    if function is None:
        return None
    function = inspect.unwrap(function)
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    return inspect.unwrap(inner) if inner is not None else function


def _fixture_functions(item) -> list:
    """The functions of every fixture ``item`` uses, directly or through other fixtures."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return [definitions[-1].func for definitions in info.name2fixturedefs.values() if definitions]


def pytest_collection_modifyitems(config, items) -> None:
    """Mark ``root`` every test that needs it (see the module docstring)."""
    root = _root_calls()
    verdicts: dict = {}  # fixture function → whether it needs root, shared by the tests using it

    def needs_root(function) -> bool:
        if function not in verdicts:
            verdicts[function] = _calls_root(function, root, set())
        return verdicts[function]

    for item in items:
        if item.get_closest_marker("root") is not None:
            continue
        function = _unwrapped(getattr(item, "function", None))
        if (
            ROOT_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            or (function is not None and _calls_root(function, root, set()))
            or any(needs_root(fixture) for fixture in _fixture_functions(item))
        ):
            item.add_marker(pytest.mark.root)


def pytest_terminal_summary(terminalreporter) -> None:
    """Show the counts robustness tests recorded (`tests.support.counts`), e.g. crash trials and failures."""
    if counts.LINES:
        terminalreporter.section("robustness counts")
        for line in counts.LINES:
            terminalreporter.write_line(line)
