"""Whatever the text, the parser returns a Buildfile or raises a located SyntaxProblem — nothing else.

Two generators: arbitrary text, and text assembled from the fragments the grammar cares about (keywords
in any case, flags, JSON, quotes, escapes, continuations, heredocs, directives, comments), which reaches
far more of the parser than random characters do.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.errors import SyntaxProblem
from builder.syntax import ast, dump_buildkit, parse

KEYWORDS = [
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "from", "Run", "onbuild",
    "FORM", "NOPE", "",
]  # fmt: skip
FRAGMENTS = [
    " ", "  ", "\t", "\v", "\f", "\r", "\u00a0", "\u2028", "\ufeff", "\x00", "\x85", "é", "♥", "\udc80",
    "--", "--link", "--link=maybe", "--chmod=", "--chmod=755", "--chmod=u+x", "--from=a", "--mount=type=x",
    "--network=host", "--security=x", "--interval=1ns", "--retries=-1", "--platform=$P", '--x="a b"',
    "--'q'", "--\\", "[", "]", "[]", '["a"]', '["a", 1]', '["a",', "{", "}", ":", ",", '"', "'", "\\",
    "`", "$", "${", "${A:-b}", "${A", "=", "a=b", "a=", "=b", "AS", "as", "x", "NONE", "CMD", "<<EOF",
    "<<-EOF", "<<'EOF'", '<<"E', "<<", "3<<X", "<< EOF", "EOF", "\tEOF", "#", "# c", "# escape=`",
    "# escape=\\", "# syntax=x", "# check=skip=all", "# check=error=maybe", "#escape=x",
]  # fmt: skip


def assert_parses_or_located(text: str) -> None:
    try:
        buildfile = parse(text)
    except SyntaxProblem as problem:
        assert problem.span is not None, problem
        assert problem.span.line >= 1 and problem.span.column >= 1, problem.span
        assert problem.span.line <= text.count("\n") + 1, problem.span
        assert problem.exit_code == 2
    else:
        assert isinstance(buildfile, ast.Buildfile)
        assert all(isinstance(i, ast.Instruction) for i in buildfile.instructions)
        assert buildfile.instructions
    try:
        dump = dump_buildkit(text)
    except SyntaxProblem as problem:
        assert problem.span is not None
    else:
        assert isinstance(dump, str)


lines = st.builds(
    lambda keyword, parts: keyword + "".join(parts),
    st.sampled_from(KEYWORDS),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12),
)
endings = st.sampled_from(["\n", "\n", "\n", "\\\n", "`\n", "\r\n", " \\ \n", ""])
documents = st.lists(st.tuples(lines, endings), max_size=12).map(lambda ls: "".join(a + b for a, b in ls))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text):
    assert_parses_or_located(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200))
def test_arbitrary_text_with_controls_and_surrogates(text):
    assert_parses_or_located(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_instruction_like_text(text):
    assert_parses_or_located(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, documents)
def test_after_a_valid_prefix(prefix, text):
    assert_parses_or_located("FROM scratch\n" + prefix + "\nRUN <<EOF\n" + text)
