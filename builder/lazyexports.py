"""Package attributes imported from their submodule on first use (PEP 562), so importing a package costs
nothing until one of its names is used. A leaf module any package may use."""

from __future__ import annotations

import importlib
import sys
import types


def install(package: str, where: dict[str, str]) -> None:
    """Make each name of ``where`` (name → submodule) an attribute of ``package`` loaded on first use.

    Importing a submodule sets it as an attribute of its package; a name that is both a submodule and an
    exported function (``runtime.overlay``) keeps meaning the function.
    """
    module = sys.modules[package]

    def __getattr__(name: str):
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted([*vars(module), *where])

    class _Package(types.ModuleType):
        def __setattr__(self, name: str, value: object) -> None:
            if name in where and isinstance(value, types.ModuleType):
                return
            super().__setattr__(name, value)

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__
    module.__class__ = _Package
