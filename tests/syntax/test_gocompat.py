"""The Go standard-library behaviours the parser reproduces (outputs checked against Go's documentation)."""

from __future__ import annotations

import pytest

from builder.gofmt import parse_duration, quote, quote_list
from builder.syntax.gocompat import is_space, parse_int32, trim_space


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("abc", '"abc"'),
        ('say "hi" \\ bye', '"say \\"hi\\" \\\\ bye"'),
        ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
        ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'),
        ("é♥안녕😀", '"é♥안녕😀"'),
        ("\u00a0\u200b\u2028", '"\\u00a0\\u200b\\u2028"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("\udc80\udcff", '"\\x80\\xff"'),  # bytes that were not UTF-8 (surrogateescape)
        ("", '""'),
    ],
)
def test_quote_is_strconv_quote(text, quoted):
    assert quote(text) == quoted


def test_quote_list_is_fmt_q_of_a_string_slice():
    assert quote_list(["--user=me", "--doit=true"]) == '["--user=me" "--doit=true"]'


def test_space_is_unicode_isspace():
    assert all(is_space(c) for c in "\t\n\v\f\r \x85\xa0\u3000")
    assert not any(is_space(c) for c in "\x1c\x1d\x1e\x1f\u200b")  # str.isspace() says True for \x1c-\x1f
    assert trim_space("\u00a0 x y\x85\n") == "x y"


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0), ("1ns", 1), ("1.5s", 1_500_000_000), ("1h30m", 5_400_000_000_000), ("-1s", -1_000_000_000),
        ("+2ms", 2_000_000), (".5s", 500_000_000), ("1.s", 1_000_000_000), ("3µs", 3_000), ("3μs", 3_000),
        ("2562047h47m16.854775807s", (1 << 63) - 1),
    ],
)  # fmt: skip
def test_parse_duration(text, nanoseconds):
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("5", 'time: missing unit in duration "5"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        (".", 'time: invalid duration "."'),
        ("s", 'time: invalid duration "s"'),
        ("9999999999999999999h", "time: invalid duration"),
    ],
)
def test_parse_duration_errors(text, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        parse_duration(text)


def test_parse_int32():
    assert [parse_int32(v) for v in ("3", "+3", "-3", "2147483647")] == [3, 3, -3, 2147483647]
    for bad in ("", "3x", "1_000", "٣", "2147483648"):
        with pytest.raises(ValueError, match="strconv.ParseInt"):
            parse_int32(bad)
