"""The typed AST each instruction parses to: fields, flags, forms, heredocs, spans, directives."""

from __future__ import annotations

import pytest

from builder.errors import Span
from builder.syntax import ast, heredoc_marker, parse


def only(text: str) -> ast.Instruction:
    """The last instruction of ``text`` (parsed after a FROM when it does not start with one)."""
    if not text.upper().startswith(("FROM", "#", "ARG")):
        text = "FROM scratch\n" + text
    return parse(text).instructions[-1]


def flags(instruction: ast.Instruction) -> list[tuple[str, str | None]]:
    return [(f.name, f.value) for f in instruction.flags]


# ---- FROM ----------------------------------------------------------------------------------------


def test_from_image_only():
    node = only("FROM alpine:3.19")
    assert isinstance(node, ast.From)
    assert (node.keyword, node.image, node.stage_name, node.flags) == ("FROM", "alpine:3.19", None, ())


def test_from_stage_name_is_lower_cased_and_as_is_case_insensitive():
    node = only("from --platform=$BUILDPLATFORM golang:1.22 as Build-1.x")
    assert (node.keyword, node.image, node.stage_name) == ("FROM", "golang:1.22", "build-1.x")
    assert flags(node) == [("platform", "$BUILDPLATFORM")]
    assert node.flag("platform") == "$BUILDPLATFORM"
    assert node.flags[0].span.column == 6


# ---- RUN, CMD, ENTRYPOINT, SHELL -------------------------------------------------------------------


def test_run_shell_form_keeps_the_line_as_written():
    node = only('RUN   echo "$HOME"  &&  ls \\\n   -la')
    assert isinstance(node, ast.Run)
    assert node.command == ast.Command(('echo "$HOME"  &&  ls    -la',), exec_form=False)
    assert node.original == 'RUN   echo "$HOME"  &&  ls    -la'
    assert (node.span.line, node.span.end_line) == (2, 3)


def test_run_exec_form():
    assert only('RUN ["sh", "-c", "echo \\"x\\""]').command == ast.Command(("sh", "-c", 'echo "x"'), True)


def test_run_malformed_json_falls_back_to_shell_form():
    assert only("RUN ['sh', '-c']").command == ast.Command(("['sh', '-c']",), False)
    assert only('RUN ["a"] tail').command == ast.Command(('["a"] tail',), False)


def test_run_flags_repeatable_mount_network_security():
    node = only(
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok "
        "--network=none --security=insecure make"
    )
    assert flags(node) == [
        ("mount", "type=cache,target=/root/.cache"),
        ("mount", "type=secret,id=tok"),
        ("network", "none"),
        ("security", "insecure"),
    ]
    assert node.flag_values("mount") == ["type=cache,target=/root/.cache", "type=secret,id=tok"]
    assert node.command.args == ("make",)


def test_flag_quotes_are_removed_and_double_dash_ends_flags():
    node = only('RUN --mount="type=bind,source=a b,target=/x" -- --not-a-flag')
    assert flags(node) == [("mount", "type=bind,source=a b,target=/x")]
    assert node.command.args == ("--not-a-flag",)


def test_run_heredoc():
    node = parse("FROM a\nRUN <<EOF\necho $HOME\n  indented\nEOF\n").instructions[-1]
    assert node.command == ast.Command(("<<EOF",), False)
    (body,) = node.heredocs
    assert (body.name, body.content, body.expand, body.chomp, body.fd) == (
        "EOF", "echo $HOME\n  indented\n", True, False, 0,
    )  # fmt: skip
    assert (body.span.line, body.span.column, body.span.end_line) == (2, 5, 5)
    assert node.span.end_line == 5


def test_run_heredoc_chomp_quote_and_fd():
    node = only("RUN 3<<-'END' python3\n\tprint('$x')\n\t\tEND\n")
    (body,) = node.heredocs
    assert (body.name, body.content, body.expand, body.chomp, body.fd) == (
        "END",
        "print('$x')\n",
        False,
        True,
        3,
    )
    assert node.command.args == ("3<<-'END' python3",)


def test_run_in_json_form_has_no_heredoc():
    node = parse('FROM a\nRUN ["cat", "<<EOF"]\nCMD x\n').instructions[1]
    assert node.heredocs == () and node.command.exec_form


def test_cmd_and_entrypoint():
    assert only('CMD ["nginx", "-g", "daemon off;"]').command == ast.Command(
        ("nginx", "-g", "daemon off;"), True
    )
    assert only("CMD echo hi").command == ast.Command(("echo hi",), False)
    assert only("CMD []").command == ast.Command((), True)
    entry = only("ENTRYPOINT [ ]")
    assert isinstance(entry, ast.Entrypoint) and entry.command == ast.Command((), True)


def test_shell():
    node = only('SHELL ["powershell", "-command"]')
    assert isinstance(node, ast.Shell) and node.shell == ("powershell", "-command")


# ---- ENV, LABEL, ARG -------------------------------------------------------------------------------


def test_env_pairs_keep_quotes_and_escapes():
    node = only("ENV A=1 B=\"two words\" C=a\\ b D= E='$x'")
    assert isinstance(node, ast.Env)
    assert node.pairs == (
        ast.KeyValue("A", "1"),
        ast.KeyValue("B", '"two words"'),
        ast.KeyValue("C", "a\\ b"),
        ast.KeyValue("D", ""),
        ast.KeyValue("E", "'$x'"),
    )


def test_env_legacy_form_takes_the_rest_of_the_line():
    assert only("ENV PATH /usr/local/bin:$PATH  and more").pairs == (
        ast.KeyValue("PATH", "/usr/local/bin:$PATH  and more"),
    )


def test_label():
    node = only('LABEL org.opencontainers.image.title="My app" version=1')
    assert isinstance(node, ast.Label)
    assert node.pairs == (
        ast.KeyValue("org.opencontainers.image.title", '"My app"'),
        ast.KeyValue("version", "1"),
    )


def test_arg_declarations():
    node = only('ARG A B= C=1 D="x y"')
    assert isinstance(node, ast.Arg)
    assert node.args == (
        ast.ArgDecl("A", None),
        ast.ArgDecl("B", ""),
        ast.ArgDecl("C", "1"),
        ast.ArgDecl("D", '"x y"'),
    )


# ---- COPY, ADD -----------------------------------------------------------------------------------


def test_copy_flags_sources_and_dest():
    node = only(
        "COPY --from=build --chown=1000:1000 --chmod=0755 --link --parents "
        "--exclude=*.md --exclude=tmp/ a/ b/*.go /app/"
    )
    assert isinstance(node, ast.Copy)
    assert flags(node) == [
        ("from", "build"), ("chown", "1000:1000"), ("chmod", "0755"), ("link", None), ("parents", None),
        ("exclude", "*.md"), ("exclude", "tmp/"),
    ]  # fmt: skip
    assert (node.sources, node.dest, node.exec_form, node.heredocs) == (("a/", "b/*.go"), "/app/", False, ())


def test_copy_json_form_keeps_spaces():
    node = only('COPY ["a file", "/dest dir/"]')
    assert (node.sources, node.dest, node.exec_form) == (("a file",), "/dest dir/", True)


def test_copy_does_not_interpret_quotes_in_shell_form():
    assert only('COPY "a b" c').sources == ('"a', 'b"')


def test_copy_heredoc_sources():
    node = parse("FROM a\nCOPY <<one.txt <<-'two' /dst/\n1 $X\none.txt\n\t2 $X\n\ttwo\n").instructions[-1]
    assert node.sources == ("<<one.txt", "<<-'two'") and node.dest == "/dst/"
    assert [(h.name, h.content, h.expand, h.chomp) for h in node.heredocs] == [
        ("one.txt", "1 $X\n", True, False),
        ("two", "2 $X\n", False, True),
    ]
    assert [heredoc_marker(word).name for word in node.sources] == ["one.txt", "two"]
    assert heredoc_marker("plain") is None and heredoc_marker("<<'broken") is None


def test_add_flags():
    node = only(
        "ADD --chown=app --chmod=u+rwx,go-w --link=false --checksum=sha256:abc --keep-git-dir=TRUE "
        "--exclude=.git https://example.com/x.tar.gz /opt/"
    )
    assert isinstance(node, ast.Add)
    assert flags(node) == [
        ("chown", "app"), ("chmod", "u+rwx,go-w"), ("link", "false"), ("checksum", "sha256:abc"),
        ("keep-git-dir", "true"), ("exclude", ".git"),
    ]  # fmt: skip
    assert node.sources == ("https://example.com/x.tar.gz",) and node.dest == "/opt/"


def test_chmod_with_a_variable_is_left_for_expansion():
    assert only("COPY --chmod=$MODE a b").flag("chmod") == "$MODE"


# ---- the rest -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cls", "field", "value"),
    [
        ("MAINTAINER Jane Doe <jane@example.com>", ast.Maintainer, "name", "Jane Doe <jane@example.com>"),
        ("USER app:app", ast.User, "user", "app:app"),
        ("USER  some user", ast.User, "user", "some user"),
        ("WORKDIR /srv/my app", ast.Workdir, "path", "/srv/my app"),
        ("STOPSIGNAL SIGKILL", ast.Stopsignal, "signal", "SIGKILL"),
        ("EXPOSE 80 443/tcp $PORT", ast.Expose, "ports", ("80", "443/tcp", "$PORT")),
        ("VOLUME /data /logs", ast.Volume, "paths", ("/data", "/logs")),
        ('VOLUME ["/data", "/my logs"]', ast.Volume, "paths", ("/data", "/my logs")),
    ],
)
def test_single_field_instructions(text, cls, field, value):
    node = only(text)
    assert isinstance(node, cls) and getattr(node, field) == value


def test_healthcheck_none_and_cmd():
    assert only("HEALTHCHECK NONE").command is None
    node = only("HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --start-interval=2s --retries=3 \\\n"
                "  CMD curl -f http://localhost/ || exit 1")  # fmt: skip
    assert isinstance(node, ast.Healthcheck)
    assert node.command == ast.Command(("curl -f http://localhost/ || exit 1",), False)
    assert dict(flags(node)) == {
        "interval": "30s", "timeout": "3s", "start-period": "1m", "start-interval": "2s", "retries": "3",
    }  # fmt: skip
    assert only('healthcheck cmd ["/check", "--quiet"]').command == ast.Command(("/check", "--quiet"), True)
    assert only("HEALTHCHECK --interval=0s --retries=0 CMD true").flag("interval") == "0s"


def test_onbuild_trigger_is_typed():
    node = only("ONBUILD COPY --from=builder . /app")
    assert isinstance(node, ast.Onbuild)
    assert isinstance(node.trigger, ast.Copy)
    assert node.trigger.flag("from") == "builder" and node.trigger.dest == "/app"
    assert node.expression == "COPY --from=builder . /app"
    assert (node.trigger.span.line, node.trigger.span.column) == (2, 9)


def test_onbuild_heredoc_goes_to_the_trigger_and_the_expression():
    node = parse("FROM a\nonbuild  RUN <<EOF\necho hi\nEOF\n").instructions[-1]
    assert node.expression == "RUN <<EOF\necho hi\nEOF"
    assert node.trigger.heredocs[0].content == "echo hi\n"
    assert node.span.end_line == 4


# ---- the file as a whole ------------------------------------------------------------------------


def test_keywords_are_upper_cased():
    assert [i.keyword for i in parse("from a\nRun x\ncOpY a b\n").instructions] == ["FROM", "RUN", "COPY"]


def test_directives_escape_and_backtick_continuations():
    buildfile = parse(
        "# syntax=docker/dockerfile:1.7\n#ESCAPE = `\n# check=skip=all\nFROM a\nRUN dir `\n  c:\\x\n"
    )
    assert [(d.name, d.value) for d in buildfile.directives] == [
        ("syntax", "docker/dockerfile:1.7"),
        ("escape", "`"),
        ("check", "skip=all"),
    ]
    assert buildfile.escape == "`"
    assert buildfile.instructions[-1].command.args == ("dir   c:\\x",)
    assert buildfile.directives[1].span == Span("Buildfile", 2, 1, None, "#ESCAPE = `")


@pytest.mark.parametrize(
    "text", ["# hello\n# escape=`\nFROM a\n", "\n# escape=`\nFROM a\n", "FROM a\n# escape=`\nRUN x\n"]
)
def test_escape_directive_below_the_top_is_a_comment(text):
    """BuildKit's escape-after-comment vector: the file keeps ``\\`` as its escape character."""
    buildfile = parse(text + "RUN a \\\n  b\n")
    assert buildfile.escape == "\\" and buildfile.directives == ()
    assert buildfile.instructions[-1].command.args == ("a   b",)
    assert len(buildfile.warnings) == 1 and "escape=`" in buildfile.warnings[0]


def test_misplaced_syntax_directive_is_a_warning():
    buildfile = parse("# Copyright 2024\n# syntax=docker/dockerfile:1\nFROM a\n")
    assert buildfile.directives == ()
    assert len(buildfile.warnings) == 1 and "syntax=docker/dockerfile:1" in buildfile.warnings[0]


def test_bom_crlf_comments_and_blank_continuation_lines():
    buildfile = parse(
        "\ufeffFROM a\r\n# comment\r\nRUN a \\\r\n\r\n  # inner comment\r\n  b\r\n", "x/Buildfile"
    )
    run = buildfile.instructions[1]
    assert run.command.args == ("a   b",)
    assert (run.span.file, run.span.line, run.span.end_line) == ("x/Buildfile", 3, 6)
    assert buildfile.warnings == ("Empty continuation line found in: RUN a   b",)
    assert buildfile.instructions[0].span.source_line == "FROM a"


def test_original_is_the_joined_logical_line():
    node = only("COPY a \\\n  b \\\n  /c/")
    assert node.original == "COPY a   b   /c/" and node.sources == ("a", "b")
