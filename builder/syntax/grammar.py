"""The lark parser for the Buildfile line grammar, built once per process on first use.

The grammar is the project's top-level ``grammar/buildfile.lark``. It ships as package data of ``builder``
(``builder/grammar`` links to it in the source tree; the wheel holds a copy), so it is found through the
package with `importlib.resources` wherever the package is installed, never relative to a source checkout.
"""

from __future__ import annotations

from importlib.resources import files

_lark = None


def grammar_text() -> str:
    """The text of ``buildfile.lark`` from the installed ``builder`` package."""
    return files("builder").joinpath("grammar", "buildfile.lark").read_text(encoding="utf-8")


def parser():
    """The lark parser, built on first use and kept for the life of the process."""
    global _lark
    if _lark is None:
        from lark import Lark

        _lark = Lark(
            grammar_text(),
            parser="lalr",
            lexer="contextual",
            start=["instruction", "json_array"],
            propagate_positions=True,
            maybe_placeholders=False,
            # lark keeps the analysed grammar in a file in the temp directory, keyed by the grammar's hash
            # and these options: later processes load it instead of rebuilding the LALR tables
            cache=True,
        )
    return _lark
