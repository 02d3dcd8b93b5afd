"""CopyIgnoredFile: a COPY or ADD from the build context names a path the ``.dockerignore`` leaves out, so
the build would not find it (or would find less than the user meant).

As in BuildKit, no finding is made when the ignore file has exception patterns (``!path``): what they put
back below an excluded directory is not decided by the pattern text alone. The context root (``.``) is
only reported when a pattern leaves out everything at the root (``*``, ``**``, ``**/*``).
"""

from __future__ import annotations

from collections.abc import Iterator

from builder.checks.model import CheckInput, Finding, at_word
from builder.syntax import ast

_EVERYTHING = frozenset({"*", "**", "**/*"})
#: How ADD's remote sources (URLs, git repositories) begin.
_REMOTE = ("http://", "https://", "git@", "git://", "ssh://")


def copy_ignored(check: CheckInput, ins: ast.CopyLike, resolved) -> Iterator[Finding]:
    """Findings for ``ins`` (COPY/ADD) given its resolved arguments (sources…, destination)."""
    from builder.context.ignore import IgnoreRules, go_clean

    rules = check.ignore
    if not isinstance(rules, IgnoreRules) or not rules or rules.has_exceptions:
        return
    if isinstance(ins, ast.Copy) and ins.flag("from"):
        return  # copies from a stage or an image, not from the context
    heredoc_words = {w for h in ins.heredocs for w in (f"<<{h.name}", f"<<-{h.name}")}
    verb = "Add" if isinstance(ins, ast.Add) else "Copy"
    written = list(ins.sources)
    for index, source in enumerate(resolved.args[:-1]):
        if source.replace('"', "").replace("'", "") in heredoc_words:
            continue
        if isinstance(ins, ast.Add) and source.startswith(_REMOTE):
            continue  # a URL or a git repository, not a context path
        path = go_clean(source)
        if path in (".", "/"):
            if not any(pattern.pattern in _EVERYTHING and pattern.include for pattern in rules.patterns):
                continue
        elif not rules.excludes(path):
            continue
        word = written[index] if index < len(written) else source
        yield Finding.of("CopyIgnoredFile", at_word(ins, word), verb, path)
