"""Bake definitions resolved as buildx resolves them: inherits, matrix, groups, variables, --set, compose
services and target: links (pure: no root). Each case is a file, the request, and the expected targets."""

from __future__ import annotations

import pytest

from builder.bake.files import DEFAULT_FILES, load_config, read_files
from builder.bake.resolve import read_targets
from builder.errors import BuildError, render


def resolve(files: dict[str, str], targets=(), sets=(), env=None, tmp_path=None):
    env = env or {}
    config = load_config(list(files.items()), tmp_path, env, {"BAKE_LOCAL_PLATFORM": "linux/amd64"})
    return read_targets(config, list(targets), list(sets), env)


def fields(resolved, name):
    return resolved.targets[name].to_json()


INHERITS = """\
target "base" {
  args = { A = "base", B = "base" }
  tags = ["base:1"]
  cache-from = ["type=local,src=a"]
  platforms = ["linux/amd64"]
}
target "mid" {
  inherits = ["base"]
  args = { B = "mid" }
  cache-from = ["type=local,src=b"]
  labels = { l = "mid" }
}
target "leaf" {
  inherits = ["mid"]
  tags = ["leaf:1"]
  dockerfile = "leaf.Dockerfile"
  args = { C = "leaf" }
}
target "two" {
  inherits = ["leaf", "other"]
}
target "other" {
  target = "stage"
  platforms = ["linux/arm64"]
}
"""

CASES = [
    (
        "inherits merges maps, appends cache-from, replaces tags",
        {"docker-bake.hcl": INHERITS},
        ["leaf"],
        [],
        {},
        {
            "leaf": {
                "context": ".",
                "dockerfile": "leaf.Dockerfile",
                "args": {"A": "base", "B": "mid", "C": "leaf"},
                "labels": {"l": "mid"},
                "tags": ["leaf:1"],
                "cache-from": ["type=local,src=a", "type=local,src=b"],
                "platforms": ["linux/amd64"],
            }
        },
    ),
    (
        "several parents, later ones win",
        {"docker-bake.hcl": INHERITS},
        ["two"],
        [],
        {},
        {
            "two": {
                "context": ".",
                "dockerfile": "leaf.Dockerfile",
                "args": {"A": "base", "B": "mid", "C": "leaf"},
                "labels": {"l": "mid"},
                "tags": ["leaf:1"],
                "cache-from": ["type=local,src=a", "type=local,src=b"],
                "target": "stage",
                "platforms": ["linux/arm64"],
            }
        },
    ),
    (
        "matrix: one target per combination, the label a group of them",
        {
            "docker-bake.hcl": 'target "app" {\n  name = "app-${v}-${os}"\n  matrix = {\n    v = ["1", "2"]\n'
            '    os = ["alpine"]\n  }\n  args = { V = v }\n  tags = ["app:${v}-${os}"]\n}\n'
        },
        ["app"],
        [],
        {},
        {
            "app-1-alpine": {
                "context": ".",
                "dockerfile": "Dockerfile",
                "args": {"V": "1"},
                "tags": ["app:1-alpine"],
            },
            "app-2-alpine": {
                "context": ".",
                "dockerfile": "Dockerfile",
                "args": {"V": "2"},
                "tags": ["app:2-alpine"],
            },
        },
    ),
    (
        "variables overridden from the environment, bool and number converted",
        {
            "docker-bake.hcl": 'variable "TAG" { default = "dev" }\nvariable "N" { default = 1 }\n'
            'variable "ON" { default = false }\ntarget "default" {\n  tags = ["app:${TAG}-${N + 1}"]\n'
            '  args = { ON = ON ? "yes" : "no" }\n}\n'
        },
        [],
        [],
        {"TAG": "ci", "N": "41", "ON": "true"},
        {"default": {"context": ".", "dockerfile": "Dockerfile", "args": {"ON": "yes"}, "tags": ["app:ci-42"]}},
    ),
    (
        "nested groups",
        {
            "docker-bake.hcl": 'group "default" { targets = ["g"] }\ngroup "g" { targets = ["a", "b"] }\n'
            'target "a" {}\ntarget "b" { context = "b" }\n'
        },
        [],
        [],
        {},
        {"a": {"context": ".", "dockerfile": "Dockerfile"}, "b": {"context": "b", "dockerfile": "Dockerfile"}},
    ),
    (
        "--set on a pattern, args from the environment, list keys accumulate",
        {"docker-bake.hcl": 'target "a" {\n  tags = ["a"]\n}\ntarget "b" {}\n'},
        ["a", "b"],
        [
            "*.args.FROM_ENV",
            "a.tags=x:1",
            "a.tags=x:2",
            "b.platform=linux/arm64",
            "*.no-cache=true",
            "b.args.NOT_SET",
            "a.labels.k=v",
            "b.contexts.c=dir",
        ],
        {"FROM_ENV": "env value"},
        {
            "a": {
                "context": ".",
                "dockerfile": "Dockerfile",
                "args": {"FROM_ENV": "env value"},
                "labels": {"k": "v"},
                "tags": ["x:1", "x:2"],
                "no-cache": True,
            },
            "b": {
                "context": ".",
                "contexts": {"c": "dir"},
                "dockerfile": "Dockerfile",
                "args": {"FROM_ENV": "env value"},
                "platforms": ["linux/arm64"],
                "no-cache": True,
            },
        },
    ),
    (
        "compose services with build, image as tag, interpolation, secrets",
        {
            "compose.yaml": "services:\n  db:\n    image: postgres\n  api:\n    image: acme/api:${TAG:-dev}\n"
            "    build:\n      context: ./api\n      args:\n        - A=1\n        - FROM_ENV\n"
            "      secrets:\n        - token\n      platforms: [linux/arm64]\n"
            "  web:\n    build: web\n"
            "secrets:\n  token:\n    environment: TOKEN\n"
        },
        [],
        [],
        {"FROM_ENV": "x"},
        {
            "api": {
                "context": "api",
                "dockerfile": "Dockerfile",
                "args": {"A": "1", "FROM_ENV": "x"},
                "tags": ["acme/api:dev"],
                "secret": ["id=token,env=TOKEN"],
                "platforms": ["linux/arm64"],
            },
            "web": {"context": "web", "dockerfile": "Dockerfile"},
        },
    ),
    (
        "a target: context brings the linked target in, without outputs",
        {
            "docker-bake.hcl": 'target "app" {\n  contexts = { base = "target:base" }\n}\n'
            'target "base" {\n  output = ["type=local,dest=out"]\n}\n'
        },
        ["app"],
        [],
        {},
        {
            "app": {"context": ".", "contexts": {"base": "target:base"}, "dockerfile": "Dockerfile"},
            "base": {"context": ".", "dockerfile": "Dockerfile"},
        },
    ),
]


@pytest.mark.parametrize(
    ("what", "files", "targets", "sets", "env", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_resolve(tmp_path, what, files, targets, sets, env, expected):
    resolved = resolve(files, targets, sets, env, tmp_path)
    assert {name: fields(resolved, name) for name in resolved.targets} == expected


def test_matrix_label_becomes_a_group(tmp_path):
    files = {"docker-bake.hcl": 'target "t" {\n  name = "t-${x}"\n  matrix = { x = ["a", "b"] }\n}\n'}
    resolved = resolve(files, ["t"], tmp_path=tmp_path)
    assert resolved.groups["t"].targets == ["t-a", "t-b"]
    assert resolved.groups["default"].targets == ["t"]


def test_linked_targets_are_marked(tmp_path):
    files = {"docker-bake.hcl": 'target "a" {\n  contexts = { x = "target:b" }\n}\ntarget "b" {}\n'}
    assert resolve(files, ["a"], tmp_path=tmp_path).linked == {"b"}
    assert resolve(files, ["a", "b"], tmp_path=tmp_path).linked == set()


ERRORS = [
    ({"docker-bake.hcl": 'target "a" {}\n'}, ["nope"], [], "error: failed to find target nope"),
    ({"docker-bake.hcl": 'target "a" {}\n'}, ["a"], ["a.colour=red"], "error: unknown key: colour"),
    (
        {"docker-bake.hcl": 'target "a" {}\n'},
        ["a"],
        ["x*.tags=t"],
        "error: could not find any target matching 'x*'",
    ),
    (
        {"docker-bake.hcl": 'target "a" {}\n'},
        ["a"],
        ["a"],
        "error: invalid override key a, expected target.name",
    ),
    (
        {"docker-bake.hcl": 'target "a" {}\n'},
        ["a"],
        ["a.args=x"],
        "error: invalid key a.args, args requires name",
    ),
    (
        {"docker-bake.hcl": 'target "a" {}\n'},
        ["a"],
        ["a.no-cache=maybe"],
        "error: invalid value maybe for boolean key no-cache",
    ),
    (
        {"docker-bake.hcl": 'target "a" {\n  contexts = { x = "target:a" }\n}\n'},
        ["a"],
        [],
        "error: target a cannot link to itself",
    ),
    (
        {
            "docker-bake.hcl": 'target "a" {\n  contexts = { x = "target:b" }\n}\n'
            'target "b" {\n  contexts = { y = "target:a" }\n}\n'
        },
        ["a"],
        [],
        "error: infinite loop from b to a",
    ),
    (
        {"docker-bake.hcl": 'target "a" {\n  colour = "red"\n}\n'},
        ["a"],
        [],
        'docker-bake.hcl:2:3: error: Unsupported argument: an argument named "colour" is not expected here',
    ),
    (
        {"docker-bake.hcl": 'thing "a" {\n}\n'},
        ["a"],
        [],
        'docker-bake.hcl:1:1: error: Unsupported block type: blocks of type "thing" are not expected here',
    ),
    (
        {"docker-bake.hcl": 'target "a" {\n  name = "x"\n}\n'},
        ["a"],
        [],
        "docker-bake.hcl:2:3: error: name requires matrix",
    ),
    (
        {"docker-bake.hcl": 'target "a" {\n  tags = "one"\n}\n'},
        ["a"],
        [],
        'docker-bake.hcl:2:3: error: Incorrect attribute value type: "tags" must be a list of strings',
    ),
    (
        {"compose.yaml": "services:\n  a:\n    build:\n      context: .\n      pull_policy: x\n"},
        [],
        [],
        "compose.yaml:2:3: error: service 'a': build key 'pull_policy' is not supported by pybuild",
    ),
    (
        {"compose.yaml": "services:\n  a: [\n"},
        [],
        [],
        "compose.yaml:3:1: error: invalid YAML: expected the node content, but found '<stream end>'",
    ),
]


@pytest.mark.parametrize(("files", "targets", "sets", "message"), ERRORS, ids=[e[3][:50] for e in ERRORS])
def test_errors(tmp_path, files, targets, sets, message):
    with pytest.raises(BuildError) as caught:
        resolve(files, targets, sets, tmp_path=tmp_path)
    assert render(caught.value).splitlines()[0] == message


def test_default_files_are_buildx_v0_13s_in_its_order(tmp_path):
    # buildx v0.13 bake.go defaultFilenames(): compose-go's DefaultFileNames, then the bake files
    assert DEFAULT_FILES == (
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
        "docker-bake.json",
        "docker-bake.override.json",
        "docker-bake.hcl",
        "docker-bake.override.hcl",
    )
    for name in reversed(DEFAULT_FILES):
        (tmp_path / name).write_text("")
    assert [name for name, _ in read_files([], tmp_path, None)] == list(DEFAULT_FILES)
    with pytest.raises(BuildError, match="open missing.hcl: no such file or directory"):
        read_files(["missing.hcl"], tmp_path, None)
    with pytest.raises(BuildError, match="couldn't find a bake definition"):
        read_files([], tmp_path / "empty-dir-that-does-not-exist", None)


def test_stdin_is_a_bake_file(tmp_path):
    import io

    files = read_files(["-"], tmp_path, io.BytesIO(b'target "s" {\n  tags = ["from-stdin"]\n}\n'))
    config = load_config(files, tmp_path, {}, {})
    assert read_targets(config, ["s"], [], {}).targets["s"].tags == ["from-stdin"]
