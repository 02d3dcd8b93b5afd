"""Word expansion beyond BuildKit's own vectors: exact messages, caret offsets, options, Go corner cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.errors import EXIT_USAGE, Span, SyntaxProblem
from builder.expand import ExpansionError, expand_word, expand_word_with_matches, expand_words

ENV = {"A": "a b", "EMPTY": "", "X": "xx*yy", "PATH": "/usr/bin:/bin", "T": "<$0>"}


@pytest.mark.parametrize(
    ("word", "message", "offset"),
    [
        ("${NOPE:?must be set}", 'failed to process "${NOPE:?must be set}": NOPE: must be set', 0),
        ("ab${NOPE:?}", 'failed to process "ab${NOPE:?}": NOPE: is not allowed to be unset', 2),
        ("ab${EMPTY:?}", 'failed to process "ab${EMPTY:?}": EMPTY: is not allowed to be empty', 2),
        ("x${NOPE?}", 'failed to process "x${NOPE?}": NOPE: is not allowed to be unset', 1),
        (
            'say "hi',
            'failed to process "say \\"hi": unexpected end of statement while looking for matching '
            "double-quote",
            4,
        ),
        (
            "it's",
            'failed to process "it\'s": unexpected end of statement while looking for matching single-quote',
            2,
        ),
        ("a ${A", 'failed to process "a ${A": unsupported modifier (\ufffd) in substitution', 2),
        ("${A:=1}", 'failed to process "${A:=1}": unsupported modifier (:=) in substitution', 0),
        ("${A=1}", 'failed to process "${A=1}": unsupported modifier (=) in substitution', 0),
        ("${A:#x}", 'failed to process "${A:#x}": unsupported modifier (:#) in substitution', 0),
        ("${}", 'failed to process "${}": syntax error: bad substitution', 0),
        ("${A:-x", "failed to process \"${A:-x\": syntax error: missing '}'", 0),
        ("${A/x", "failed to process \"${A/x\": syntax error: missing '/' in ${}", 0),
        (
            "${X/\\q/}",
            "failed to process \"${X/\\\\q/}\": invalid pattern (\\q) in substitution: invalid escape '\\q'",
            0,
        ),
        ("tab\there ${", "failed to process \"tab\\there ${\": syntax error: missing '}'", 9),
        # The innermost failing reference is the one the caret points at.
        ("${A:-${B:?no B}}", 'failed to process "${A:-${B:?no B}}": B: no B', 5),
    ],
)
def test_error_message_and_offset(word: str, message: str, offset: int) -> None:
    with pytest.raises(ExpansionError) as caught:
        expand_word(word, ENV)
    assert caught.value.message == message
    assert caught.value.offset == offset


def test_error_is_a_located_syntax_problem_once_the_caller_adds_the_span() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        expand_word("${V:?set V}", {})
    error = caught.value
    assert error.exit_code == EXIT_USAGE
    assert error.span is None
    error.with_span(Span("Buildfile", 3, 5))
    assert str(error) == 'Buildfile:3:5: error: failed to process "${V:?set V}": V: set V'


def test_backtick_escape_token() -> None:
    assert expand_word("a`$A b\\c", ENV, "`") == "a$A b\\c"
    assert expand_word('"x`"y"', ENV, "`") == 'x"y'


def test_replace_all_follows_go_not_re_sub() -> None:
    # Go's ReplaceAllString does not replace the empty match that follows a match (re.sub would: "--").
    assert expand_word("${X//*/-}", ENV) == "-"
    assert expand_word("${EMPTY//$EMPTY/-}", ENV) == "-"
    assert expand_word("${X/*/-}", ENV) == "-"


def test_replacement_taken_from_a_variable_is_a_go_template() -> None:
    # In ${v//p/r} Go expands $0 in r to the match; in ${v/p/r} the replacement is literal.
    assert expand_word("${X//y/$T}", ENV) == "xx*<y><y>"
    assert expand_word("${X/y/$T}", ENV) == "xx*<$0>y"


def test_pattern_operators() -> None:
    assert expand_word("${PATH#*:}", ENV) == "/bin"
    assert expand_word("${PATH##*/}", ENV) == "bin"
    assert expand_word("${PATH%:*}", ENV) == "/usr/bin"
    assert expand_word("${PATH%%/*}", ENV) == ""
    assert expand_word("${PATH/:/;}", ENV) == "/usr/bin;/bin"
    assert expand_word("${X#xx\\*}", ENV) == "yy"


def test_field_splitting_uses_gos_notion_of_space() -> None:
    # U+00A0 is a space to Go, U+001C is not (Python's str.isspace says the opposite for U+001C).
    assert expand_words("$V", {"V": "a\xa0b\x1cc"}) == ["a", "b\x1cc"]
    assert expand_words("x${A}y 'p q' \"$A\" $EMPTY", ENV) == ["xa", "by", "p q", "a b"]
    assert expand_words("''", ENV) == []


def test_names_and_special_parameters() -> None:
    assert expand_word("$A_x", {"A_x": "1", "A": "2"}) == "1"
    assert expand_word("$1A", {"1": "one"}) == "oneA"
    assert expand_word("$ab-$$-$", {"ab": "z"}) == "z--$"
    assert expand_word("\ufeff$A", ENV) == "a b"  # a leading byte-order mark is dropped, as Go's scanner does


def test_matches_report_every_lookup() -> None:
    result, matched, unmatched = expand_word_with_matches("${A:+$B}${EMPTY:-$C}", ENV)
    assert result == ""
    assert matched == {"A", "EMPTY"}
    assert unmatched == {"B", "C"}


def test_options() -> None:
    assert expand_word("'a'\"b\"", ENV, raw_quotes=True) == "'a'\"b\""
    assert expand_word("a\\b", ENV, raw_escapes=True) == "a\\b"
    assert expand_word("it's $A", ENV, process_quotes=False) == "it's a b"
    assert expand_word("$NOPE ${NOPE} ${NOPE:-d} ${NOPE/a/b} $A", ENV, skip_unset=True) == (
        "$NOPE ${NOPE} ${NOPE:-d} ${NOPE/a/b} a b"
    )


def test_env_is_not_modified() -> None:
    env = dict(ENV)
    expand_word("${NEW:-x} ${A:+y}", env)
    assert env == ENV


@settings(max_examples=400, deadline=None)
@given(
    word=st.text(
        alphabet=st.sampled_from(list("${}:-+?#%/\\'\" `*aAbX_01\n\t\ufeff")) | st.characters(), max_size=40
    ),
    escape=st.sampled_from(["\\", "`"]),
)
def test_any_text_expands_or_raises_expansion_error(word: str, escape: str) -> None:
    try:
        result = expand_word(word, ENV, escape)
        words = expand_words(word, ENV, escape)
    except ExpansionError as error:
        assert error.message.startswith("failed to process ")
        assert error.offset is None or 0 <= error.offset <= len(word)
    else:
        assert isinstance(result, str)
        assert all(isinstance(w, str) and w for w in words)


@pytest.mark.parametrize(
    ("word", "expected"),
    [('"" 1', ["1"]), ('1 ""', ["1"]), ('""', []), ('"" ""', []), ('a "" b', ["a", "b"]), ('a""b', ["ab"])],
)
def test_empty_quoted_strings_make_no_field(word, expected):
    # BuildKit's wordsStruct appends a word only when it is non-empty, wherever the empty quotes stand
    assert expand_words(word, {}) == expected
