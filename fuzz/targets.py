"""The fuzz targets: generators of hostile input (hypothesis strategies) and the check each input must pass.

A target's ``check(data)`` returns None when the code under test behaved (succeeded, or refused the input with
the user error it promises), else a one-line description of the finding. What counts as behaving:

* ``parser``: `builder.syntax.parse` returns, or raises `SyntaxProblem` carrying a span (a located error);
* ``expander``: `builder.expand.expand_word` returns a str, or raises `ExpansionError` with an offset inside
  the word (the caller locates it from there);
* ``layer``: `builder.layer.apply_layer` returns a diff_id, or raises `LayerError`; either way nothing appears
  outside its target directory.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# -- parser ------------------------------------------------------------------------------------------------

_FRAGMENTS = [
    "FROM busybox",
    "FROM scratch AS a",
    "FROM --platform=$X a:b@sha256:00",
    "RUN echo hi",
    'RUN ["sh", "-c"',
    "RUN <<EOF",
    "EOF",
    "RUN --mount=type=cache,target=/x cat",
    "RUN --network=none",
    "COPY . /",
    "COPY --from=a",
    "COPY <<A <<B /x",
    "ADD --chmod=0755 http://x/y /z",
    "ARG A=1",
    "ARG",
    "ENV A=1 B",
    "ENV A",
    'LABEL a="b',
    "WORKDIR",
    "USER 1:2",
    "CMD",
    "ENTRYPOINT []",
    'SHELL ["a"]',
    "HEALTHCHECK --interval=1s CMD x",
    "HEALTHCHECK NONE",
    "ONBUILD ONBUILD RUN x",
    "EXPOSE 80/tcp 1-2",
    'VOLUME ["/a",',
    "STOPSIGNAL 9",
    "MAINTAINER x",
    "# syntax=docker/dockerfile:1",
    "# escape=`",
    "# escape=\\",
    "# check=skip=all",
    "\\",
    "`",
    "${A:-${B:+c}}",
    "$",
    '"',
    "'",
    "[",
    "]",
    "{",
    "--",
    "--x=",
    "\t",
    "\r",
    "\ufeff",
    "\x00",
    "#",
]


def buildfiles() -> st.SearchStrategy[str]:
    """Buildfile texts: lines of instruction-like fragments, junk, continuations and heredoc markers."""
    piece = st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12))
    line = st.lists(piece, max_size=5).map(" ".join)
    ending = st.sampled_from(["\n", "\n", "\\\n", "`\n", "\r\n", ""])
    return st.lists(st.tuples(line, ending), max_size=12).map(lambda ls: "".join(a + b for a, b in ls))


def check_parser(text: str) -> str | None:
    from builder.errors import SyntaxProblem
    from builder.syntax import parse

    try:
        parse(text, "Buildfile")
    except SyntaxProblem as error:
        if error.span is None:
            return f"SyntaxProblem without a location: {error.message!r}"
    return None


def check_build_checks(text: str) -> str | None:
    """The build checks on whatever parses: no exception escapes, and every finding has a location."""
    from builder.checks import CheckInput, options_for, run_checks
    from builder.checks.options import enabled
    from builder.errors import BuildError
    from builder.plan import plan
    from builder.syntax import parse

    try:
        buildfile = parse(text, "Buildfile")
    except BuildError:
        return None
    try:
        the_plan = plan(buildfile)
    except BuildError:
        the_plan = None
    lines = tuple(text.split("\n"))
    findings = run_checks(CheckInput(buildfile, lines, plan=the_plan))
    with contextlib.suppress(BuildError):  # a malformed check option is the build's error to report
        enabled(findings, options_for(buildfile, {}), buildfile, lines)
    for finding in findings:
        if finding.span is None or finding.span.line < 1:
            return f"finding without a location: {finding.rule.name}"
    return None


# -- expander ----------------------------------------------------------------------------------------------

_WORD_ALPHABET = "$${}:-+?#%/\\`'\" ab_1*[]\n\t\ufeff"


@dataclass(frozen=True)
class ExpandCase:
    word: str
    env: dict[str, str]
    escape: str
    options: dict[str, bool]


def expand_cases() -> st.SearchStrategy[ExpandCase]:
    names = st.sampled_from(["a", "b", "_", "a1", "1", "@", "$"])
    return st.builds(
        ExpandCase,
        word=st.text(alphabet=_WORD_ALPHABET, max_size=40),
        env=st.dictionaries(names, st.text(alphabet=_WORD_ALPHABET, max_size=8), max_size=4),
        escape=st.sampled_from(["\\", "`"]),
        options=st.fixed_dictionaries(
            {k: st.booleans() for k in ("raw_quotes", "raw_escapes", "process_quotes", "skip_unset")}
        ),
    )


def check_expander(case: ExpandCase) -> str | None:
    from builder.expand import ExpansionError, expand_word, expand_words

    try:
        result = expand_word(case.word, case.env, case.escape, **case.options)
        fields = expand_words(case.word, case.env, case.escape, **case.options)
    except ExpansionError as error:
        if error.offset is not None and not 0 <= error.offset <= len(case.word):
            return f"ExpansionError offset {error.offset} outside a word of {len(case.word)} characters"
        return None
    if not isinstance(result, str) or not all(isinstance(f, str) and f for f in fields):
        return f"expansion returned {result!r} / {fields!r}"
    return None


# -- layer apply -------------------------------------------------------------------------------------------


def _seed_tar() -> bytes:
    """A layer using every feature apply handles: dirs, files, links of both kinds, whiteouts, opaque
    markers, PAX and GNU long names, xattrs, fifos, and a device node."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(name, kind=tarfile.REGTYPE, data=b"", **extra):
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mode, info.mtime = kind, len(data), 0o644, 1_600_000_000
            for key, value in extra.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("d", tarfile.DIRTYPE, mode=0o755)
        add("d/f", data=b"hello world\n" * 4)
        add("d/" + "long" * 40, data=b"x")
        add("d/link", tarfile.SYMTYPE, linkname="f")
        add("d/hard", tarfile.LNKTYPE, linkname="d/f")
        add("d/.wh.gone")
        add("e/.wh..wh..opq")
        add("fifo", tarfile.FIFOTYPE)
        add("null", tarfile.CHRTYPE, devmajor=1, devminor=3)
        add("x", data=b"attr", pax_headers={"SCHILY.xattr.user.k": "v", "mtime": "1600000000.5"})
    return raw.getvalue()


SEED = _seed_tar()


@dataclass(frozen=True)
class LayerCase:
    data: bytes
    compress: bool


def _mutate(
    seed: bytes, edits: list[tuple[int, int]], cut: int | None, insert: bytes, at: int, fix_sums: bool
) -> bytes:
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    if insert:
        data[at % len(data) : at % len(data)] = insert
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    if fix_sums:  # so that edits get past the header checksum and reach the code behind it
        for start in range(0, len(data) - 511, 512):
            if data[start + 257 : start + 262] == b"ustar":
                block = data[start : start + 512]
                block[148:156] = b" " * 8
                data[start + 148 : start + 156] = b"%06o\0 " % sum(block)
    return bytes(data)


def layer_cases() -> st.SearchStrategy[LayerCase]:
    # Most edits hit the first headers, where the names, types, sizes and PAX records are.
    position = st.one_of(st.integers(0, 2047), st.integers(0, len(SEED) - 1))
    edits = st.lists(st.tuples(position, st.integers(0, 255)), max_size=8)
    cut = st.one_of(st.none(), st.integers(0, len(SEED)))
    mutated = st.builds(
        _mutate, st.just(SEED), edits, cut, st.binary(max_size=16), st.integers(0, len(SEED)), st.booleans()
    )
    return st.builds(LayerCase, st.one_of(mutated, st.binary(max_size=600)), st.booleans())


class LayerSandbox:
    """A scratch directory per case: ``<base>/case/target`` with a sentinel beside the target."""

    def __init__(self) -> None:
        self.base = tempfile.mkdtemp(prefix="pybuild-fuzz-")

    def check(self, case: LayerCase) -> str | None:
        from builder.layer import ROOT_FORM, LayerError, apply_layer

        case_dir = os.path.join(self.base, "case")
        target = os.path.join(case_dir, "target")
        os.makedirs(target)
        with open(os.path.join(case_dir, "sentinel"), "wb") as f:
            f.write(b"sentinel")
        data = gzip.compress(case.data, mtime=0) if case.compress else case.data
        finding = None
        try:
            for mode in ("overlay", "flatten"):
                apply_layer(io.BytesIO(data), _fresh(target), mode=mode, form=ROOT_FORM)
        except LayerError:
            pass
        around = sorted(os.listdir(case_dir))
        if around != ["sentinel", "target"] or _read(os.path.join(case_dir, "sentinel")) != b"sentinel":
            finding = f"apply wrote outside its target: {around}"
        shutil.rmtree(case_dir)
        return finding

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _fresh(target: str) -> Any:
    from pathlib import Path

    shutil.rmtree(target)
    os.mkdir(target)
    return Path(target)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
