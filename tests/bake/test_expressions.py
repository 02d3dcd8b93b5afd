"""HCL expressions and functions of bake files, evaluated as buildx evaluates them (pure: no root)."""

from __future__ import annotations

import pytest

from builder.bake.hclfile import Definitions
from builder.errors import BuildError, render


def value(expression: str, prelude: str = "", env: dict | None = None) -> object:
    """The value of ``X = expression`` in a file that starts with ``prelude``."""
    definitions = Definitions([("t.hcl", f"{prelude}X = {expression}\n")], env or {}, {})
    return definitions.scope.lookup("X", None)


CASES = [
    ('"a${1 + 2}b"', "a3b"),
    ('"${true}"', True),  # a template of one interpolation keeps the value's type
    ('"${2 * 3}"', 6),
    ('"v${1.5 + 1}"', "v2.5"),
    ('"$${NOT} $$x"', "${NOT} $$x"),
    ('"tab\\tnew\\nline \\"q\\" \\u00e9"', 'tab\tnew\nline "q" é'),
    ("7 / 2", 3.5),
    ("7 % 3", 1),
    ("-(2 + 3)", -5),
    ("!false && true", True),
    ("1 > 2 || 2 >= 2", True),
    ('1 == 1 ? "y" : "n"', "y"),
    ('"a" != "a"', False),
    ('["a", "b"][1]', "b"),
    ('{ a = { b = "c" } }.a.b', "c"),
    ('{ "k-1" = 1 }["k-1"]', 1),
    ("[{ n = 1 }, { n = 2 }][*].n", [1, 2]),
    ('[for v in ["a", "b"] : upper(v)]', ["A", "B"]),
    ("[for v in [1, 2, 3] : v if v > 1]", [2, 3]),
    ('[for i, v in ["a", "b"] : "${i}=${v}"]', ["0=a", "1=b"]),
    ("{ for k, v in { a = 1, b = 2 } : k => v + 1 }", {"a": 2, "b": 3}),
    ('{ for v in ["x", "y", "x"] : v => 1... }', {"x": [1, 1], "y": [1]}),
    ("<<EOT\nx ${1 + 1}\n$${y}\nEOT\n", "x 2\n${y}\n"),
    ("<<-EOT\n    a\n      b\n    EOT\n", "a\n  b\n"),
    ('upper("x")', "X"),
    ('lower("AbC")', "abc"),
    ('join(",", ["a", "b"], ["c"])', "a,b,c"),
    ('split(".", "1.2.3")', ["1", "2", "3"]),
    ('replace("a-b-c", "-", "_")', "a_b_c"),
    ('regex_replace("a.b.c", "[.]", "_")', "a_b_c"),
    ('regex("([a-z]+)-([0-9]+)", "app-12")', ["app", "12"]),
    ('regexall("[0-9]", "a1b2")', ["1", "2"]),
    ('format("%s-%03d-%v", "v", 7, true)', "v-007-true"),
    ('formatlist("%s:1", ["a", "b"])', ["a:1", "b:1"]),
    ('trimprefix("v1.2", "v")', "1.2"),
    ('trimsuffix("app.tar", ".tar")', "app"),
    ('trimspace("  x ")', "x"),
    ('trim("--x--", "-")', "x"),
    ('substr("hello", 1, 3)', "ell"),
    ('strlen("héllo")', 5),
    ('title("hello world")', "Hello World"),
    ('chomp("x\\n\\n")', "x"),
    ('indent(2, "a\\nb")', "a\n  b"),
    ('coalesce("", "x")', "x"),
    ('coalescelist([], ["a"])', ["a"]),
    ('compact(["a", "", "b"])', ["a", "b"]),
    ('concat(["a"], ["b", "c"])', ["a", "b", "c"]),
    ('distinct(["a", "b", "a"])', ["a", "b"]),
    ('flatten([["a"], ["b", ["c"]]])', ["a", "b", "c"]),
    ('contains(["a", "b"], "b")', True),
    ('element(["a", "b"], 3)', "b"),
    ('index(["a", "b"], "b")', 1),
    ('slice(["a", "b", "c"], 1, 3)', ["b", "c"]),
    ('reverselist(["a", "b"])', ["b", "a"]),
    ('sort(["b", "a"])', ["a", "b"]),
    ("length([1, 2])", 2),
    ("length({ a = 1 })", 1),
    ("keys({ b = 1, a = 2 })", ["a", "b"]),
    ("values({ b = 1, a = 2 })", [2, 1]),
    ('lookup({ a = 1 }, "b", "d")', "d"),
    ("merge({ a = 1 }, { b = 2, a = 3 })", {"a": 3, "b": 2}),
    ('zipmap(["a", "b"], [1, 2])', {"a": 1, "b": 2}),
    ("range(3)", [0, 1, 2]),
    ("range(1, 7, 3)", [1, 4]),
    ('chunklist(["a", "b", "c"], 2)', [["a", "b"], ["c"]]),
    ('setproduct(["a"], ["x", "y"])', [["a", "x"], ["a", "y"]]),
    ("max(1, 5, 3)", 5),
    ("min(4, 2)", 2),
    ("abs(-3)" if False else "absolute(-3)", 3),
    ("ceil(1.2)", 2),
    ("floor(1.8)", 1),
    ("pow(2, 10)", 1024),
    ("signum(-4)", -1),
    ('parseint("ff", 16)', 255),
    ('int("7")', 7),
    ('sha256("x")', "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"),
    ('md5("x")', "9dd4e461268c8034f5c8564e155c67a6"),
    ('base64encode("hi")', "aGk="),
    ('base64decode("aGk=")', "hi"),
    ('jsonencode({ a = [1, "b"] })', '{"a":[1,"b"]}'),
    ('jsondecode("{\\"a\\": 1}")', {"a": 1}),
    ('urlencode("a b&c")', "a+b%26c"),
    ('csvdecode("a,b\\n1,2\\n")', [{"a": "1", "b": "2"}]),
    ('try(nosuch, "fallback")', "fallback"),
    ("can(nosuch)", False),
    ('can(upper("x"))', True),
    ('equal("a", "a")', True),
    ("and(true, false)", False),
    ("add(1, 2)", 3),
    ('uuidv5("dns", "example.com")', "cfbff0d1-9375-5685-968c-48ce8b15ae17"),
    ('sethaselement(["a"], "a")', True),
    ('setunion(["a"], ["b", "a"])', ["a", "b"]),
    ('setsubtract(["a", "b"], ["a"])', ["b"]),
    ('setintersection(["a", "b"], ["b"])', ["b"]),
    ("add1(2)", 3),
    ('both("x", "y", "z")', "x:y,z"),
    ('"%{ if 1 > 0 }y%{ else }n%{ endif }"', "y"),
    ('"%{ if false }y%{ endif }-"', "-"),
    ('"%{ for i, v in ["p", "q"] }${i}${v},%{ endfor }"', "0p,1q,"),
    ('"%{ for k, v in { a = 1 } }${k}=${v}%{ endfor }"', "a=1"),
    ('"x %{~ if true ~} y %{~ endif ~} z"', "xyz"),
    ('"%{ for v in ["a", "b"] }%{ if v == "b" }[${v}]%{ endif }%{ endfor }"', "[b]"),
    ("V", "from-default"),
    ("T", "top-level"),
]

PRELUDE = """\
function "add1" {
  params = [x]
  result = x + 1
}
function "both" {
  params = [a]
  variadic_params = rest
  result = "${a}:${join(",", rest)}"
}
variable "V" {
  default = "from-default"
}
T = "top-level"
"""


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_expression(expression, expected):
    assert value(expression, PRELUDE) == expected


ENVIRONMENT = [
    # (default, environment value, value the file sees)
    ('"dflt"', None, "dflt"),
    ('"dflt"', "env", "env"),
    ("false", "true", True),
    ("false", "1", True),
    ("3", "41", 41),
    ("1.5", "2.25", 2.25),
    (None, None, ""),  # a variable without default and not set is ""
    (None, "env", "env"),
]


@pytest.mark.parametrize(("default", "env", "expected"), ENVIRONMENT)
def test_variable_from_environment(default, env, expected):
    block = f'variable "V" {{\n  default = {default}\n}}\n' if default else 'variable "V" {}\n'
    assert value("V", block, {"V": env} if env is not None else {}) == expected


def test_top_level_attribute_is_not_overridden_by_the_environment():
    assert value("T", 'T = "file"\n', {"T": "env"}) == "file"


def test_a_function_calling_itself_forever_is_an_error():
    prelude = 'function "f" {\n  params = [x]\n  result = f(x)\n}\n'
    with pytest.raises(BuildError, match='function "f" calls itself too deeply'):
        value("f(1)", prelude)


def test_deep_nesting_is_a_located_error():
    with pytest.raises(BuildError, match="t.hcl:1:.*: error: expression nested too deeply"):
        value("[" * 3000 + "]" * 3000)


ERRORS = [
    ("nosuch(1)", 't.hcl:1:5: error: Call to unknown function: there is no function named "nosuch"'),
    ('cidrhost("10.0.0.0/8", 1)', 't.hcl:1:5: error: function "cidrhost" is not supported by pybuild'),
    ("missing", 't.hcl:1:5: error: Unknown variable: there is no variable named "missing"'),
    ('upper("a", "b")', 't.hcl:1:5: error: Invalid number of arguments: function "upper" takes 1'),
    (
        'length("abc")',
        "t.hcl:1:5: error: Invalid function argument: collection must be a list, a map or a tuple",
    ),
    ('"a${[1]}"', "t.hcl:1:9: error: Invalid template interpolation value: cannot include a tuple in a string"),
    ("1 / 0", "t.hcl:1:5: error: Zero divisor: the right operand of a division is zero"),
    ('["a"][3]', "t.hcl:1:10: error: Invalid index: the collection has 1 elements"),
    ("A\nA = X", "t.hcl:2:5: error: variable cycle not allowed for X"),
    ("[1, 2", "t.hcl:2:1: error: syntax error: unexpected end of file"),
    ('"%{ if true }x"', "t.hcl:1:6: error: %{if} without %{endif}"),
    ("range(1e12)", "t.hcl:1:5: error: Error in function call: range would have more than 1048576 elements"),
    ("[1, 2 +]", "t.hcl:1:12: error: syntax error: unexpected ']'"),
]


@pytest.mark.parametrize(("expression", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_error_is_located(expression, message):
    with pytest.raises(BuildError) as caught:
        value(expression)
    assert render(caught.value).splitlines()[0] == message
