# ruff: noqa: E501 -- one error case per line reads better as a table
"""Every malformed Buildfile is a SyntaxProblem that points at the offending token.

Each row: (id, Buildfile text, message fragment, line, column[, hint fragment]). Lines and columns are
1-based and refer to the physical line the token was written on, continuation lines included.
"""

from __future__ import annotations

import pytest

from builder.errors import EXIT_USAGE, SyntaxProblem, render
from builder.syntax import parse

ERRORS = [
    # instructions
    ("unknown-instruction", "FROM a\nFORM b\n", "unknown instruction: FORM", 2, 1, "did you mean FROM?"),
    ("unknown-lowercase", "from a\nrnu x\n", "unknown instruction: rnu", 2, 1, "did you mean RUN?"),
    ("unknown-indented", "FROM a\n    COPPY a b\n", "unknown instruction: COPPY", 2, 5, "did you mean COPY?"),
    ("unknown-after-bom", "\ufeffFORM a\n", "unknown instruction: FORM", 1, 1, "FROM"),
    ("empty-file", "", "file with no instructions", 1, 1, None),
    ("only-comments", "# a\n\n# b\n", "file with no instructions", 1, 1, None),
    # argument counts
    ("env-one-word", "FROM a\nENV PATH\n", "ENV must have two arguments", 2, 5, None),
    ("label-one-word", "FROM a\nLABEL x\n", "LABEL must have two arguments", 2, 7, None),
    ("env-missing-equals", "FROM a\nENV a=1 b\n", 'can\'t find = in "b"', 2, 9, None),
    ("env-on-continuation", "FROM a\nENV a=1 \\\n    b\n", 'can\'t find = in "b"', 3, 5, None),
    ("env-backtick-continuation", "# escape=`\nFROM a\nENV a=1 `\n  b\n", "can't find =", 4, 3, None),
    ("env-blank-name", "FROM a\nENV =x\n", "ENV names can not be blank", 2, 5, None),
    ("env-nothing", "FROM a\nENV\n", "ENV requires at least one argument", 2, 1, None),
    ("from-nothing", "FROM\n", "FROM requires either one or three arguments", 1, 1, None),
    ("from-two-words", "FROM a b\n", "FROM requires either one or three arguments", 1, 8, None),
    ("from-not-as", "FROM a TO b\n", "FROM requires either one or three arguments", 1, 8, "did you mean AS?"),
    ("from-four-words", "FROM a AS b c\n", "FROM requires either one or three arguments", 1, 13, None),
    ("from-bad-stage-name", "FROM a AS 1st\n", 'invalid name for build stage: "1st"', 1, 11, None),
    ("copy-one-word", "FROM a\nCOPY x\n", "COPY requires at least two arguments", 2, 6, None),
    ("add-nothing", "FROM a\nADD\n", "ADD requires at least two arguments", 2, 1, None),
    ("user-nothing", "FROM a\nUSER\n", "USER requires exactly one argument", 2, 1, None),
    ("arg-blank-name", "FROM a\nARG =x\n", "ARG names can not be blank", 2, 5, None),
    ("arg-nothing", "FROM a\nARG\n", "ARG requires at least one argument", 2, 1, None),
    ("expose-nothing", "EXPOSE\n", "EXPOSE requires at least one argument", 1, 1, None),
    ("volume-empty-string", 'FROM a\nVOLUME ["/a", ""]\n', "VOLUME specified can not be an empty string", 2, 15, None),
    ("run-nothing", "FROM a\nRUN\n", "RUN requires at least one argument", 2, 1, None),
    ("run-empty-exec", "FROM a\nRUN []\n", "RUN requires at least one argument", 2, 1, None),
    # flags
    ("copy-unknown-flag", "FROM a\nCOPY --user=me x y\n", "unknown flag --user for COPY", 2, 6, None),
    ("add-flag-typo", "FROM a\nADD --checksm=sha256:0 a b\n", "unknown flag --checksm for ADD", 2, 5, "--checksum"),
    ("env-takes-no-flags", "FROM a\nENV --x=1 a=b\n", "unknown flag --x: ENV takes no flags", 2, 5, None),
    ("flag-on-continuation", "FROM a\nCOPY --from=b \\\n     --chmod=8 x y\n", "invalid --chmod value", 3, 6, "0755"),
    ("string-flag-without-value", "FROM --platform a\n", "missing a value on flag --platform", 1, 6, None),
    ("duplicate-flag", "FROM a\nCOPY --from=a --from=b x y\n", "duplicate flag --from", 2, 15, None),
    ("chmod-not-octal", "FROM a\nCOPY --chmod=999 a b\n", 'invalid --chmod value "999"', 2, 6, None),
    ("chmod-too-big", "FROM a\nADD --chmod=17777 a b\n", "invalid --chmod value", 2, 5, None),
    ("chmod-bad-symbolic", "FROM a\nCOPY --chmod=u+q a b\n", "invalid --chmod value", 2, 6, None),
    ("network-bad", "FROM a\nRUN --network=bridge true\n", 'unsupported network mode "bridge"', 2, 5, "host"),
    ("security-bad", "FROM a\nRUN --security=root true\n", 'security "root" is not valid', 2, 5, "insecure"),
    ("mount-type-bad", "FROM a\nRUN --mount=type=volume,target=/x true\n", "unsupported mount type", 2, 5, None),
    ("bool-flag-maybe", "FROM a\nCOPY --link=maybe a b\n", '--link expects true or false, not "maybe"', 2, 6, None),
    ("bool-flag-empty", "FROM a\nADD --link= a b\n", "--link expects true or false, not nothing", 2, 5, None),
    ("interval-no-unit", "FROM a\nHEALTHCHECK --interval=5 CMD true\n", "missing unit in duration", 2, 13, None),
    ("interval-garbage", "FROM a\nHEALTHCHECK --start-period=soon CMD true\n", "invalid duration", 2, 13, None),
    ("timeout-too-small", "FROM a\nHEALTHCHECK --timeout=10us CMD true\n", "cannot be less than 1ms", 2, 13, None),
    ("retries-negative", "FROM a\nHEALTHCHECK --retries=-1 CMD true\n", "--retries cannot be negative (-1)", 2, 13, None),
    ("retries-not-a-number", "FROM a\nHEALTHCHECK --retries=3x CMD true\n", "invalid --retries value", 2, 13, None),
    # forms
    ("healthcheck-type", "FROM a\nHEALTHCHECK CONNECT x\n", 'Unknown type "CONNECT" in HEALTHCHECK', 2, 13, None),
    ("healthcheck-none-args", "FROM a\nHEALTHCHECK NONE x\n", "HEALTHCHECK NONE takes no arguments", 2, 18, None),
    ("healthcheck-cmd-empty", "FROM a\nHEALTHCHECK CMD\n", "Missing command after HEALTHCHECK CMD", 2, 13, None),
    ("shell-not-json", "FROM a\nSHELL /bin/sh -c\n", "SHELL requires the arguments to be in JSON form", 2, 7, None),
    ("shell-malformed-json", "FROM a\nSHELL ['sh']\n", "SHELL requires the arguments to be in JSON form", 2, 7, None),
    ("shell-empty", "FROM a\nSHELL []\n", "SHELL requires at least one argument", 2, 1, None),
    ("json-nested-array", 'FROM a\nCMD ["a", ["b"]]\n', "comprised of strings only", 2, 11, None),
    ("json-number", 'FROM a\nRUN ["a", 42]\n', "comprised of strings only", 2, 11, None),
    ("json-null-on-continuation", 'FROM a\nENTRYPOINT ["a", \\\n  null]\n', "comprised of strings only", 3, 3, None),
    # directives
    ("directive-repeated", "# escape=`\n# escape=\\\nFROM a\n", "only one escape parser directive", 2, 1, None),
    ("directive-bad-escape", "# escape=x\nFROM a\n", "invalid escape token 'x'", 1, 1, None),
    ("check-bad-bool", "# check=skip=all;error=maybe\nFROM a\n", "failed to parse check option", 1, 1, None),
    ("check-unknown-option", "# check=ignore=x\nFROM a\n", "invalid check option", 1, 1, None),
    # heredocs
    ("heredoc-unterminated", "FROM a\nRUN <<EOF\necho hi\n", "unterminated heredoc EOF", 2, 5, "only EOF"),
    ("heredoc-second-unterminated", "FROM a\nCOPY <<A <<B /d\nx\nA\n", "unterminated heredoc B", 2, 10, None),
    ("heredoc-on-user", "FROM a\nUSER <<EOF\nroot\nEOF\n", "USER does not take a heredoc", 2, 6, "RUN, COPY"),
    ("heredoc-on-cmd", "FROM a\nCMD cat <<EOF\n", "CMD does not take a heredoc (<<EOF)", 2, 9, None),
    ("heredoc-on-onbuild-env", "FROM a\nONBUILD ENV A <<X\n", "ENV does not take a heredoc", 2, 15, None),
    ("heredoc-as-destination", "FROM a\nCOPY x <<EOF\nhi\nEOF\n", "COPY cannot accept a heredoc as a destination", 2, 8, None),
    # ONBUILD
    ("onbuild-onbuild", "FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", 2, 9, None),
    ("onbuild-from", "FROM a\nONBUILD FROM b\n", "FROM isn't allowed as an ONBUILD trigger", 2, 9, None),
    ("onbuild-maintainer", "FROM a\nonbuild maintainer me\n", "MAINTAINER isn't allowed as an ONBUILD trigger", 2, 9, None),
    ("onbuild-nothing", "FROM a\nONBUILD\n", "ONBUILD requires at least one argument", 2, 1, None),
    ("onbuild-unknown-trigger", "FROM a\nONBUILD RUNN x\n", "unknown instruction: RUNN", 2, 9, "did you mean RUN?"),
    ("onbuild-trigger-flag", "FROM a\nONBUILD COPY --frm=b x y\n", "unknown flag --frm for COPY", 2, 14, "--from"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "fragment", "line", "column", "hint"), [row[1:] for row in ERRORS], ids=[row[0] for row in ERRORS]
)
def test_error_is_located(text, fragment, line, column, hint):
    with pytest.raises(SyntaxProblem) as caught:
        parse(text)
    problem = caught.value
    assert fragment in problem.message
    assert (problem.span.line, problem.span.column) == (line, column), render(problem)
    assert problem.span.file == "Buildfile"
    physical = text.removeprefix("\ufeff").split("\n")
    assert problem.span.source_line == physical[line - 1]
    if hint is not None:
        assert problem.hint is not None and hint in problem.hint
    assert problem.exit_code == EXIT_USAGE


def test_table_is_large_and_ids_unique():
    assert len(ERRORS) >= 30
    assert len({row[0] for row in ERRORS}) == len(ERRORS)


def test_render_shows_line_and_caret():
    with pytest.raises(SyntaxProblem) as caught:
        parse("FROM alpine\nCOPY --chmod=8 a b\n", "app/Buildfile")
    assert render(caught.value).splitlines()[:3] == [
        'app/Buildfile:2:6: error: invalid --chmod value "8"',
        "  COPY --chmod=8 a b",
        "       ^",
    ]
