"""The HCL functions a bake file may call: buildx v0.13's standard library (bake/hclparser/stdlib.go), the
common ones implemented with go-cty's meaning (`FUNCTIONS`: name → arity and implementation).

A function buildx has and pybuild does not (`UNSUPPORTED`) is refused by name; an unknown name is refused as
buildx refuses it (`builder.bake.calls`). Both errors are located at the call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import urllib.parse
import uuid
from collections.abc import Callable

from builder.errors import SyntaxProblem

#: buildx functions pybuild does not provide (refused with their name rather than misbehaving)
UNSUPPORTED = frozenset(
    {
        "bcrypt",
        "bytesslice",
        "cidrhost",
        "cidrnetmask",
        "cidrsubnet",
        "cidrsubnets",
        "convert",
        "formatdate",
        "rsadecrypt",
        "timeadd",
    }
)


#: the most elements ``range`` makes: pybuild's bound, so a bake file cannot exhaust memory through it
RANGE_LIMIT = 1024 * 1024


def _s(value, span):
    from builder.bake.hclvalues import to_string

    return to_string(value, span)


def _n(value, span):
    from builder.bake.hclvalues import _number

    return _number(value, span)


def _tidy(number):
    return int(number) if isinstance(number, float) and number.is_integer() else number


def _list(value, span, what="a list"):
    if isinstance(value, list):
        return value
    raise SyntaxProblem(f"Invalid function argument: {what} is required", span)


def _format(span, fmt, *args):
    """go-cty's ``format``: Go verbs %s %d %f %v %q %t %x %% with flags, width and precision."""
    args = list(args)
    out, i, used = [], 0, 0
    pattern = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")
    for match in pattern.finditer(fmt):
        out.append(fmt[i : match.start()])
        i = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            raise SyntaxProblem("Error in function call: not enough arguments for the format string", span)
        value = args[used]
        used += 1
        if verb in ("s", "v") and not isinstance(value, list | dict):
            text = _s(value, span)
        elif verb == "v":
            text = json.dumps(value, separators=(",", ":"))
        elif verb == "q":
            text = json.dumps(_s(value, span))
        elif verb == "d":
            text = str(int(_n(value, span)))
        elif verb == "f":
            text = f"{float(_n(value, span)):.{int(precision) if precision else 6}f}"
            precision = None
        elif verb == "t":
            text = "true" if value is True else "false"
        elif verb in ("x", "X"):
            text = format(int(_n(value, span)), verb) if not isinstance(value, str) else value.encode().hex()
        else:
            raise SyntaxProblem(f"Error in function call: unsupported format verb %{verb}", span)
        if precision and verb in ("s", "v"):
            text = text[: int(precision)]
        if width:
            pad = "0" if "0" in flags and "-" not in flags else " "
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), pad)
        out.append(text)
    out.append(fmt[i:])
    return "".join(out)


def _regex(span, pattern, text, all_matches=False):
    try:
        compiled = re.compile(_go_regex(pattern))
    except re.error as error:
        raise SyntaxProblem(f"Error in function call: invalid regular expression: {error}", span) from None
    matches = list(compiled.finditer(text))
    if not all_matches and not matches:
        raise SyntaxProblem("Error in function call: pattern did not match any part of the given string", span)

    def shape(m):
        if compiled.groupindex:
            return {name: m.group(name) for name in compiled.groupindex}
        if compiled.groups:
            return list(m.groups(""))
        return m.group(0)

    return [shape(m) for m in matches] if all_matches else shape(matches[0])


def _go_regex(pattern: str) -> str:
    return re.sub(r"\(\?P?<", "(?P<", pattern)


def _flatten(span, value):
    result = []
    for item in _list(value, span):
        result.extend(_flatten(span, item) if isinstance(item, list) else [item])
    return result


def _set(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _sort(span, values):
    return sorted(_s(v, span) for v in _list(values, span))


def _element(span, values, index):
    values = _list(values, span)
    if not values:
        raise SyntaxProblem("Error in function call: cannot use element function with an empty list", span)
    return values[int(_n(index, span)) % len(values)]


def _slice(span, values, start, end):
    values = _list(values, span)
    start, end = int(_n(start, span)), int(_n(end, span))
    if not 0 <= start <= end <= len(values):
        raise SyntaxProblem("Error in function call: invalid slice indices", span)
    return values[start:end]


def _length(span, value):
    if isinstance(value, list | dict):
        return len(value)
    raise SyntaxProblem("Invalid function argument: collection must be a list, a map or a tuple", span)


def _lookup(span, mapping, key, *default):
    if not isinstance(mapping, dict):
        raise SyntaxProblem("Invalid function argument: a map is required", span)
    key = _s(key, span)
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise SyntaxProblem(f'Error in function call: lookup failed to find key "{key}"', span)


def _index(span, values, value):
    values = _list(values, span)
    if value not in values:
        raise SyntaxProblem("Error in function call: item not found", span)
    return values.index(value)


def _range(span, *args):
    nums = [_n(a, span) for a in args]
    start, stop, step = (
        (0, nums[0], 1) if len(nums) == 1 else (nums[0], nums[1], nums[2] if len(nums) > 2 else 1)
    )
    if step == 0:
        raise SyntaxProblem("Error in function call: step must not be zero", span)
    if (stop - start) / step > RANGE_LIMIT:
        raise SyntaxProblem(f"Error in function call: range would have more than {RANGE_LIMIT} elements", span)
    result, value = [], start
    while (value < stop) if step > 0 else (value > stop):
        result.append(_tidy(value))
        value += step
    return result


def _chunklist(span, values, size):
    values, size = _list(values, span), int(_n(size, span))
    if size <= 0:
        return [values]
    return [values[i : i + size] for i in range(0, len(values), size)]


def _indent(span, spaces, text):
    pad = " " * int(_n(spaces, span))
    lines = _s(text, span).split("\n")
    return "\n".join([lines[0]] + [pad + line for line in lines[1:]])


def _merge(span, *maps):
    result: dict = {}
    for mapping in maps:
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise SyntaxProblem("Invalid function argument: maps are required", span)
        result.update(mapping)
    return result


def _parseint(span, text, base):
    try:
        return int(_s(text, span), int(_n(base, span)))
    except ValueError:
        raise SyntaxProblem(f"Error in function call: cannot parse {text!r} as an integer", span) from None


def _substr(span, text, offset, length):
    text, offset, length = _s(text, span), int(_n(offset, span)), int(_n(length, span))
    if offset < 0:
        offset += len(text)
    return text[offset:] if length < 0 else text[offset : offset + length]


def _csvdecode(span, text):
    import csv
    import io

    rows = list(csv.reader(io.StringIO(_s(text, span))))
    if not rows:
        return []
    header, *rest = rows
    return [dict(zip(header, row, strict=False)) for row in rest]


def _coalesce(span, *values):
    for value in values:
        if value is not None and value != "":
            return value
    raise SyntaxProblem("Error in function call: no non-null, non-empty-string arguments", span)


def _trim(span, text, chars):
    return _s(text, span).strip(_s(chars, span))


def _title(span, text):
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), _s(text, span))


def _timestamp(span):
    import datetime

    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zipmap(span, keys, values):
    keys, values = _list(keys, span), _list(values, span)
    if len(keys) != len(values):
        raise SyntaxProblem("Error in function call: the lists of keys and values differ in length", span)
    return {_s(k, span): v for k, v in zip(keys, values, strict=True)}


#: name → (minimum, maximum or None for variadic, implementation(span, *args))
FUNCTIONS: dict[str, tuple[int, int | None, Callable]] = {
    "absolute": (1, 1, lambda sp, x: abs(_n(x, sp))),
    "add": (2, 2, lambda sp, a, b: _tidy(_n(a, sp) + _n(b, sp))),
    "and": (2, 2, lambda sp, a, b: bool(a) and bool(b)),
    "base64decode": (1, 1, lambda sp, x: base64.b64decode(_s(x, sp)).decode()),
    "base64encode": (1, 1, lambda sp, x: base64.b64encode(_s(x, sp).encode()).decode()),
    "byteslen": (1, 1, lambda sp, x: len(_s(x, sp).encode())),
    "ceil": (1, 1, lambda sp, x: math.ceil(_n(x, sp))),
    "chomp": (1, 1, lambda sp, x: re.sub(r"(\r\n|\n|\r)+$", "", _s(x, sp))),
    "chunklist": (2, 2, _chunklist),
    "coalesce": (1, None, _coalesce),
    "coalescelist": (1, None, lambda sp, *ls: next((v for v in ls if v), [])),
    "compact": (1, 1, lambda sp, x: [v for v in _list(x, sp) if v not in (None, "")]),
    "concat": (1, None, lambda sp, *ls: [v for values in ls for v in _list(values, sp)]),
    "contains": (2, 2, lambda sp, ls, v: v in _list(ls, sp)),
    "csvdecode": (1, 1, _csvdecode),
    "distinct": (1, 1, lambda sp, x: _set(_list(x, sp))),
    "divide": (2, 2, lambda sp, a, b: _tidy(_n(a, sp) / _n(b, sp))),
    "element": (2, 2, _element),
    "equal": (2, 2, lambda sp, a, b: a == b),
    "flatten": (1, 1, _flatten),
    "floor": (1, 1, lambda sp, x: math.floor(_n(x, sp))),
    "format": (1, None, lambda sp, f, *a: _format(sp, _s(f, sp), *a)),
    "formatlist": (1, None, lambda sp, f, *a: _formatlist(sp, f, *a)),
    "greaterthan": (2, 2, lambda sp, a, b: _n(a, sp) > _n(b, sp)),
    "greaterthanorequalto": (2, 2, lambda sp, a, b: _n(a, sp) >= _n(b, sp)),
    "hasindex": (2, 2, lambda sp, c, k: (k in c) if isinstance(c, dict) else 0 <= int(_n(k, sp)) < len(c)),
    "indent": (2, 2, _indent),
    "index": (2, 2, _index),
    "int": (1, 1, lambda sp, x: int(_n(x, sp))),
    "join": (
        2,
        None,
        lambda sp, sep, *ls: _s(sep, sp).join(_s(v, sp) for values in ls for v in _list(values, sp)),
    ),
    "jsondecode": (1, 1, lambda sp, x: json.loads(_s(x, sp))),
    "jsonencode": (1, 1, lambda sp, x: json.dumps(x, separators=(",", ":"))),
    "keys": (1, 1, lambda sp, x: sorted(x) if isinstance(x, dict) else _list(None, sp, "a map")),
    "length": (1, 1, _length),
    "lessthan": (2, 2, lambda sp, a, b: _n(a, sp) < _n(b, sp)),
    "lessthanorequalto": (2, 2, lambda sp, a, b: _n(a, sp) <= _n(b, sp)),
    "log": (2, 2, lambda sp, x, b: _tidy(math.log(_n(x, sp), _n(b, sp)))),
    "lookup": (2, 3, _lookup),
    "lower": (1, 1, lambda sp, x: _s(x, sp).lower()),
    "max": (1, None, lambda sp, *x: max(_n(v, sp) for v in x)),
    "md5": (1, 1, lambda sp, x: hashlib.md5(_s(x, sp).encode()).hexdigest()),
    "merge": (0, None, _merge),
    "min": (1, None, lambda sp, *x: min(_n(v, sp) for v in x)),
    "modulo": (2, 2, lambda sp, a, b: _tidy(math.fmod(_n(a, sp), _n(b, sp)))),
    "multiply": (2, 2, lambda sp, a, b: _tidy(_n(a, sp) * _n(b, sp))),
    "negate": (1, 1, lambda sp, x: -_n(x, sp)),
    "not": (1, 1, lambda sp, x: not x),
    "notequal": (2, 2, lambda sp, a, b: a != b),
    "or": (2, 2, lambda sp, a, b: bool(a) or bool(b)),
    "parseint": (2, 2, _parseint),
    "pow": (2, 2, lambda sp, a, b: _tidy(float(_n(a, sp)) ** _n(b, sp))),
    "range": (1, 3, _range),
    "regex_replace": (3, 3, lambda sp, s, p, r: re.sub(_go_regex(_s(p, sp)), _go_repl(_s(r, sp)), _s(s, sp))),
    "regex": (2, 2, lambda sp, p, s: _regex(sp, _s(p, sp), _s(s, sp))),
    "regexall": (2, 2, lambda sp, p, s: _regex(sp, _s(p, sp), _s(s, sp), all_matches=True)),
    "replace": (3, 3, lambda sp, s, old, new: _s(s, sp).replace(_s(old, sp), _s(new, sp))),
    "reverse": (1, 1, lambda sp, x: _s(x, sp)[::-1]),
    "reverselist": (1, 1, lambda sp, x: list(reversed(_list(x, sp)))),
    "sethaselement": (2, 2, lambda sp, s, v: v in _list(s, sp)),
    "setintersection": (1, None, lambda sp, f, *o: [v for v in _set(f) if all(v in x for x in o)]),
    "setproduct": (1, None, lambda sp, *ls: _product([_list(x, sp) for x in ls])),
    "setsubtract": (2, 2, lambda sp, a, b: [v for v in _set(a) if v not in b]),
    "setsymmetricdifference": (1, None, lambda sp, *ls: _symdiff(ls)),
    "setunion": (1, None, lambda sp, *ls: _set([v for x in ls for v in x])),
    "sha1": (1, 1, lambda sp, x: hashlib.sha1(_s(x, sp).encode()).hexdigest()),
    "sha256": (1, 1, lambda sp, x: hashlib.sha256(_s(x, sp).encode()).hexdigest()),
    "sha512": (1, 1, lambda sp, x: hashlib.sha512(_s(x, sp).encode()).hexdigest()),
    "signum": (1, 1, lambda sp, x: (_n(x, sp) > 0) - (_n(x, sp) < 0)),
    "slice": (3, 3, _slice),
    "sort": (1, 1, _sort),
    "split": (2, 2, lambda sp, sep, s: _s(s, sp).split(_s(sep, sp))),
    "strlen": (1, 1, lambda sp, x: len(_s(x, sp))),
    "substr": (3, 3, _substr),
    "subtract": (2, 2, lambda sp, a, b: _tidy(_n(a, sp) - _n(b, sp))),
    "timestamp": (0, 0, _timestamp),
    "title": (1, 1, _title),
    "trim": (2, 2, _trim),
    "trimprefix": (2, 2, lambda sp, s, p: _s(s, sp).removeprefix(_s(p, sp))),
    "trimspace": (1, 1, lambda sp, x: _s(x, sp).strip()),
    "trimsuffix": (2, 2, lambda sp, s, p: _s(s, sp).removesuffix(_s(p, sp))),
    "upper": (1, 1, lambda sp, x: _s(x, sp).upper()),
    "urlencode": (1, 1, lambda sp, x: urllib.parse.quote_plus(_s(x, sp))),
    "uuidv4": (0, 0, lambda sp: str(uuid.UUID(bytes=os.urandom(16), version=4))),
    "uuidv5": (2, 2, lambda sp, ns, name: _uuidv5(sp, ns, name)),
    "values": (
        1,
        1,
        lambda sp, x: [x[k] for k in sorted(x)] if isinstance(x, dict) else _list(None, sp, "a map"),
    ),
    "zipmap": (2, 2, _zipmap),
}


def _go_repl(replacement: str) -> str:
    """Go's ``$1``/``${name}`` replacement syntax as Python's."""
    replacement = replacement.replace("\\", "\\\\")
    return re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", replacement)


def _formatlist(span, fmt, *args):
    lengths = {len(a) for a in args if isinstance(a, list)}
    if len(lengths) > 1:
        raise SyntaxProblem("Error in function call: all list arguments must have the same length", span)
    count = lengths.pop() if lengths else 1
    return [
        _format(span, _s(fmt, span), *[a[i] if isinstance(a, list) else a for a in args]) for i in range(count)
    ]


def _product(lists):
    result = [[]]
    for values in lists:
        result = [r + [v] for r in result for v in values]
    return result


def _symdiff(lists):
    every = [v for values in lists for v in values]
    return _set([v for v in every if sum(v in values for values in lists) % 2 == 1])


def _uuidv5(span, namespace, name):
    known = {
        "dns": uuid.NAMESPACE_DNS,
        "url": uuid.NAMESPACE_URL,
        "oid": uuid.NAMESPACE_OID,
        "x500": uuid.NAMESPACE_X500,
    }
    text = _s(namespace, span)
    try:
        space = known.get(text) or uuid.UUID(text)
    except ValueError:
        raise SyntaxProblem(f"Error in function call: invalid namespace {text!r}", span) from None
    return str(uuid.uuid5(space, _s(name, span)))
