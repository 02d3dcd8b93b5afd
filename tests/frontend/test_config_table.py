"""The config instructions' table (`builder.frontend.config`), one row per case: Buildfile lines after
``FROM base``, the base image's config → the config after them and the history texts they record.

Pure: nothing is built. Each instruction is resolved as the executor resolves it (`tests.frontend.steps`).
The expected values are BuildKit v0.13's: each row restates what a build recorded under
``tests/build/buildkit/`` shows (the cases named in the comment above the rows; ``config-over-base`` and
``config-rows`` were recorded for this table; MAINTAINER's ``author`` was checked against the reference, the
recordings keep only the container config). `test_recorded_buildkit_cases` also runs each recorded build
through the table and compares its config and config-step history with BuildKit's.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from builder.errors import BuildError
from builder.frontend.config import CONFIG_INSTRUCTIONS, apply_config, records_history
from builder.instructions.state import DEFAULT_PATH, ImageState
from builder.plan import SourceKind
from tests.frontend.steps import apply_steps, chain, planned, resolved_steps

P = f"PATH={DEFAULT_PATH}"
#: the base image of most rows: a busybox as Docker Hub has it (its CMD tells when ENTRYPOINT drops it)
BASE = {"Env": [P], "Cmd": ["sh"]}
LAYER_KEYWORDS = {"RUN", "COPY", "ADD"}


def config(base: dict = BASE, **changes) -> dict:
    """``base`` with ``changes``; a change to None removes the field."""
    result = {**base, **changes}
    return {key: value for key, value in result.items() if value is not None}


def row(name, lines, after, history, *, base=BASE, build_args=None, author=None):
    """One case: ``lines`` follow ``FROM base``; ``after`` is the whole config afterwards."""
    return pytest.param(lines, base, after, history, build_args or {}, author, id=name)


HC_ZERO = '"0s" "0s" "0s" "0s" \'\\x00\''

ROWS = [
    # --- ENV (config-all, config-more, config-edge, env-expansion, config-over-base) ---
    row("env-pairs-quotes", 'ENV A=b C="d e"', config(Env=[P, "A=b", "C=d e"]), ["ENV A=b C=d e"]),
    row(
        "env-legacy-form",
        "ENV LEGACY value with spaces",
        config(Env=[P, "LEGACY=value with spaces"]),
        ["ENV LEGACY=value with spaces"],
    ),
    row("env-empty-value", "ENV EMPTY= A=1", config(Env=[P, "EMPTY=", "A=1"]), ["ENV EMPTY= A=1"]),
    row(
        "env-expansion-quotes",
        'ENV A=one B=${A}-two C="${UNSET:-dflt}" D="${A:+alt}" E=\'$A\' F=\\$A G="a\\"b"\nENV H=${A}_${B}',
        config(Env=[P, "A=one", "B=-two", "C=dflt", "D=", "E=$A", "F=$A", 'G=a"b', "H=one_-two"]),
        ['ENV A=one B=-two C=dflt D= E=$A F=$A G=a"b', "ENV H=one_-two"],
    ),
    row(
        "env-replaces-in-place",
        "ENV A=new B=${A}",
        config(Env=[P, "A=new", "Z=z", "B=old"]),
        ["ENV A=new B=old"],
        base=config(Env=[P, "A=old", "Z=z"]),
    ),
    # --- LABEL (config-more, config-edge, env-expansion, config-over-base) ---
    row(
        "label-quotes-continuation",
        'LABEL a=1 "b c"="d e" multi="line \\\ncontinued"',
        config(Labels={"a": "1", "b c": "d e", "multi": "line continued"}),
        ["LABEL a=1 b c=d e multi=line continued"],
    ),
    row(
        "label-empty-and-spaced-key",
        'LABEL empty= "spaced key"=v',
        config(Labels={"empty": "", "spaced key": "v"}),
        ["LABEL empty= spaced key=v"],
    ),
    row(
        "label-expansion-over-base",
        "ENV A=one\nLABEL l1=\"$A\" l2=${B:-x} l3='$A'",
        config(Env=[P, "A=one"], Labels={"l1": "one", "keep": "k", "l2": "x", "l3": "$A"}),
        ["ENV A=one", "LABEL l1=one l2=x l3=$A"],
        base=config(Labels={"l1": "base", "keep": "k"}),
    ),
    # --- ARG: history only, never a config change (config-all, arg-history, config-rows) ---
    row("arg-default", "ARG V=1", config(), ["ARG V=1"]),
    row("arg-no-default", "ARG R", config(), ["ARG R"]),
    row(
        "arg-defaults-not-overrides",
        "ARG NB_USER=\"jovyan\" Q='a b' R\nARG V=$NB_USER-x\nARG W=3",
        config(),
        ["ARG NB_USER=jovyan Q=a b R", "ARG V=jovyan-x", "ARG W=3"],
        build_args={"W": "override"},
    ),
    # --- MAINTAINER sets the image's author, not the container config (config-more) ---
    row(
        "maintainer",
        "MAINTAINER someone <a@b.c>",
        config(),
        ["MAINTAINER someone <a@b.c>"],
        author="someone <a@b.c>",
    ),
    # --- USER (config-all, config-more, user-odd-specs, config-rows) ---
    row("user-uid", "USER 1000", config(User="1000"), ["USER 1000"]),
    row("user-with-group", "USER 1:1", config(User="1:1"), ["USER 1:1"]),
    row("user-name-empty-group", "USER app:", config(User="app:"), ["USER app:"]),
    row(
        "user-expanded",
        "ENV U=app G=staff\nUSER ${U}:$G",
        config(Env=[P, "U=app", "G=staff"], User="app:staff"),
        ["ENV U=app G=staff", "USER app:staff"],
    ),
    # --- VOLUME (config-all, config-more, env-expansion, config-over-base) ---
    row("volume-words", "VOLUME /v1 /v2", config(Volumes={"/v1": {}, "/v2": {}}), ["VOLUME [/v1 /v2]"]),
    row(
        "volume-json-expanded-over-base",
        'ENV A=one\nVOLUME ["/v/$A"]',
        config(Env=[P, "A=one"], Volumes={"/base": {}, "/v/one": {}}),
        ["ENV A=one", "VOLUME [/v/one]"],
        base=config(Volumes={"/base": {}}),
    ),
    # --- SHELL, and the shell-form commands it changes (config-more, onbuild-shell-user, config-rows) ---
    row(
        "shell",
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
        config(Shell=["/bin/bash", "-o", "pipefail", "-c"]),
        ["SHELL [/bin/bash -o pipefail -c]"],
    ),
    row(
        "shell-then-shell-form-entrypoint",
        'SHELL ["/bin/sh", "-xc"]\nENTRYPOINT exec top -b\nCMD ["--help"]',
        config(
            Shell=["/bin/sh", "-xc"],
            Entrypoint=["/bin/sh", "-xc", "exec top -b"],
            Cmd=["--help"],
            ArgsEscaped=True,
        ),
        ["SHELL [/bin/sh -xc]", 'ENTRYPOINT ["/bin/sh" "-xc" "exec top -b"]', 'CMD ["--help"]'],
    ),
    # --- ONBUILD: the trigger's text, no history (config-more, config-rows) ---
    row(
        "onbuild-no-history",
        "ONBUILD RUN echo one\nONBUILD COPY . /app",
        config(OnBuild=["RUN echo one", "COPY . /app"]),
        [],
    ),
    # --- EXPOSE (config-all, config-edge, env-expansion, config-rows) ---
    row(
        "expose-ranges-protocols",
        "EXPOSE 80 53/udp 8000-8001",
        config(ExposedPorts={"53/udp": {}, "80/tcp": {}, "8000/tcp": {}, "8001/tcp": {}}),
        ["EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]"],
    ),
    row(
        "expose-protocol-case",
        "EXPOSE 80/TCP 443/Udp 7000-7001/tcp",
        config(ExposedPorts={"443/udp": {}, "7000/tcp": {}, "7001/tcp": {}, "80/tcp": {}}),
        ["EXPOSE map[443/udp:{} 7000/tcp:{} 7001/tcp:{} 80/tcp:{}]"],
    ),
    row(
        "expose-expanded-sctp-again",
        "EXPOSE ${UNSET:-8080}\nEXPOSE 132/sctp 8080",
        config(ExposedPorts={"8080/tcp": {}, "132/sctp": {}}),
        ["EXPOSE map[8080/tcp:{}]", "EXPOSE map[132/sctp:{} 8080/tcp:{}]"],
    ),
    # --- STOPSIGNAL kept as written (config-all, config-more, config-edge, env-expansion) ---
    row("stopsignal-name", "STOPSIGNAL SIGKILL", config(StopSignal="SIGKILL"), ["STOPSIGNAL SIGKILL"]),
    row("stopsignal-number", "STOPSIGNAL 9", config(StopSignal="9"), ["STOPSIGNAL 9"]),
    row(
        "stopsignal-realtime",
        "STOPSIGNAL SIGRTMIN+3",
        config(StopSignal="SIGRTMIN+3"),
        ["STOPSIGNAL SIGRTMIN+3"],
    ),
    row(
        "stopsignal-expanded",
        "STOPSIGNAL SIG${UNSET:-TERM}",
        config(StopSignal="SIGTERM"),
        ["STOPSIGNAL SIGTERM"],
    ),
    # --- CMD: ArgsEscaped always; [] removes the field (config-all, config-edge, entrypoint-empty) ---
    row(
        "cmd-shell-form",
        "CMD echo hi",
        config(Cmd=["/bin/sh", "-c", "echo hi"], ArgsEscaped=True),
        ['CMD ["/bin/sh" "-c" "echo hi"]'],
    ),
    row("cmd-exec-form", 'CMD ["x", "y z"]', config(Cmd=["x", "y z"], ArgsEscaped=True), ['CMD ["x" "y z"]']),
    row("cmd-empty-string", 'CMD [""]', config(Cmd=[""], ArgsEscaped=True), ['CMD [""]']),
    row("cmd-empty-list", "CMD []", config(Cmd=None, ArgsEscaped=True), ["CMD []"]),
    # --- ENTRYPOINT drops an inherited CMD, not its stage's (entrypoint-empty, config-rows, config-over-base)
    row(
        "entrypoint-drops-base-cmd",
        'ENTRYPOINT ["sh"]',
        config(Cmd=None, Entrypoint=["sh"]),
        ['ENTRYPOINT ["sh"]'],
    ),
    row(
        "entrypoint-keeps-own-cmd",
        'CMD ["x"]\nENTRYPOINT ["sh"]',
        config(Cmd=["x"], Entrypoint=["sh"], ArgsEscaped=True),
        ['CMD ["x"]', 'ENTRYPOINT ["sh"]'],
    ),
    row(
        "entrypoint-shell-form",
        "ENTRYPOINT top -b",
        config(Cmd=None, Entrypoint=["/bin/sh", "-c", "top -b"]),
        ['ENTRYPOINT ["/bin/sh" "-c" "top -b"]'],
    ),
    row(
        "entrypoint-and-cmd-emptied",
        'ENTRYPOINT ["sh"]\nCMD ["x"]\nENTRYPOINT []\nCMD []',
        config(Cmd=None, ArgsEscaped=True),
        ['ENTRYPOINT ["sh"]', 'CMD ["x"]', "ENTRYPOINT []", "CMD []"],
    ),
    row(
        "entrypoint-empty-removes-base-one",
        "ENTRYPOINT []",
        config(Cmd=None, Entrypoint=None),
        ["ENTRYPOINT []"],
        base=config(Entrypoint=["/init"]),
    ),
    # --- HEALTHCHECK: Go's %q of it (config-all, config-edge, config-more, config-rows, config-over-base)
    row(
        "healthcheck-shell-form-interval",
        "HEALTHCHECK --interval=5s CMD true",
        config(Healthcheck={"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}),
        ['HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" "0s" \'\\x00\'}'],
    ),
    row(
        "healthcheck-every-option-exec-form",
        "HEALTHCHECK --interval=1m --timeout=10s --start-period=2s --start-interval=1s --retries=0 "
        'CMD ["sh", "-c", "true"]',
        config(
            Healthcheck={
                "Test": ["CMD", "sh", "-c", "true"],
                "Interval": 60_000_000_000,
                "Timeout": 10_000_000_000,
                "StartPeriod": 2_000_000_000,
                "StartInterval": 1_000_000_000,
            }
        ),
        ['HEALTHCHECK &{["CMD" "sh" "-c" "true"] "1m0s" "10s" "2s" "1s" \'\\x00\'}'],
    ),
    row(
        "healthcheck-retries-compound-duration",
        "HEALTHCHECK --retries=3 --timeout=1m30s CMD wget -q localhost || exit 1",
        config(
            Healthcheck={
                "Test": ["CMD-SHELL", "wget -q localhost || exit 1"],
                "Timeout": 90_000_000_000,
                "Retries": 3,
            }
        ),
        ['HEALTHCHECK &{["CMD-SHELL" "wget -q localhost || exit 1"] "0s" "1m30s" "0s" "0s" \'\\x03\'}'],
    ),
    row(
        "healthcheck-none-replaces",
        "HEALTHCHECK NONE",
        config(Healthcheck={"Test": ["NONE"]}),
        [f'HEALTHCHECK &{{["NONE"] {HC_ZERO}}}'],
        base=config(Healthcheck={"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000}),
    ),
    # --- WORKDIR's config change (workdir-forms, scratch-workdir-relative, config-edge) ---
    row("workdir-absolute", "WORKDIR /app", config(WorkingDir="/app"), ["WORKDIR /app"]),
    row("workdir-root", "WORKDIR /", config(WorkingDir="/"), ["WORKDIR /"]),
    row(
        "workdir-relative-joined-and-cleaned",
        "WORKDIR sub/\nWORKDIR ../other",
        config(WorkingDir="/tmp/other"),
        ["WORKDIR /tmp/sub", "WORKDIR /tmp/other"],
        base=config(WorkingDir="/tmp/"),
    ),
    row("workdir-relative-no-base-dir", "WORKDIR app", config(WorkingDir="/app"), ["WORKDIR /app"]),
    row(
        "workdir-absolute-as-written",
        "WORKDIR /a/../b/./c\nWORKDIR //d/",
        config(WorkingDir="//d/"),
        ["WORKDIR /a/../b/./c", "WORKDIR //d/"],
    ),
    row(
        "workdir-expanded-then-relative",
        "ENV D=/var/opt\nWORKDIR $D/\nWORKDIR rel",
        config(Env=[P, "D=/var/opt"], WorkingDir="/var/opt/rel"),
        ["ENV D=/var/opt", "WORKDIR /var/opt/", "WORKDIR /var/opt/rel"],
    ),
]


@pytest.mark.parametrize(("lines", "base", "after", "history", "build_args", "author"), ROWS)
def test_config_instruction(lines, base, after, history, build_args, author):
    document, recorded = apply_steps({"config": base}, f"FROM base\n{lines}\n", build_args=build_args)
    assert document.get("config") == after
    assert recorded == history
    assert document.get("author") == author


def test_every_keyword_has_a_row():
    written = {line.split()[0] for param in ROWS for line in param.values[0].splitlines() if line[:1].isupper()}
    assert set(CONFIG_INSTRUCTIONS) <= written


def test_table_holds_exactly_the_config_instructions():
    assert set(CONFIG_INSTRUCTIONS) == {
        "ENV", "LABEL", "ARG", "MAINTAINER", "USER", "VOLUME", "SHELL", "ONBUILD",
        "EXPOSE", "STOPSIGNAL", "CMD", "ENTRYPOINT", "HEALTHCHECK", "WORKDIR",
    }  # fmt: skip
    assert [k for k in CONFIG_INSTRUCTIONS if not records_history(k)] == ["ONBUILD"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("STOPSIGNAL NOPE", "Invalid signal: NOPE"),
        ("STOPSIGNAL 0", "Invalid signal: 0"),
        ("EXPOSE 80/xyz", "invalid proto: xyz"),
        ("EXPOSE 9-3", "invalid port range: 9-3"),
        ("EXPOSE 70000", "invalid port range: 70000"),
        ("EXPOSE http", "invalid containerPort: http"),
        ("VOLUME $UNSET", "VOLUME specified can not be an empty string"),
        ("RUN true", "RUN is not supported"),
        ("COPY a b", "COPY is not supported"),
    ],
)
def test_refused(line, message):
    (resolved,) = resolved_steps(f"FROM base\n{line}\n")
    state = ImageState({"config": dict(BASE)})
    with pytest.raises(BuildError) as caught:
        apply_config(state, resolved)
    assert caught.value.message == message


RECORDED = Path(__file__).parents[1] / "build" / "buildkit"


def _recorded_cases() -> list[Path]:
    """The recorded builds BuildKit finished whose last stage is built, through stages or not, on the busybox
    image or on ``scratch``."""
    cases = []
    for case in sorted(RECORDED.iterdir()):
        if not (case / "buildkit.json").exists() or "error" in json.loads((case / "buildkit.json").read_text()):
            continue
        root = chain(planned((case / "Buildfile").read_text(), _build_args(case)))[0].base
        if root.kind is SourceKind.SCRATCH or root.ref == "busybox:latest":
            cases.append(case)
    return cases


def _build_args(case: Path) -> dict[str, str]:
    words = shlex.split((case / "args").read_text()) if (case / "args").exists() else []
    pairs = [words[i + 1] for i, word in enumerate(words) if word == "--build-arg"]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("case", _recorded_cases(), ids=lambda case: case.name)
def test_recorded_buildkit_cases(case: Path):
    """The config and config-step history BuildKit v0.13 recorded for a build, from the table alone (the
    recorded busybox base has an empty config; ``scratch`` BuildKit's ``WorkingDir /``)."""
    expected = json.loads((case / "buildkit.json").read_text())
    root = chain(planned((case / "Buildfile").read_text(), _build_args(case)))[0].base
    base = {"WorkingDir": "/"} if root.kind is SourceKind.SCRATCH else {}
    document, history = apply_steps(
        {"config": base}, (case / "Buildfile").read_text(), build_args=_build_args(case)
    )
    assert document["config"] == expected["config"]
    config_steps = [
        h["created_by"] for h in expected["history"] if h["created_by"].split()[0] not in LAYER_KEYWORDS
    ]
    assert history == config_steps
