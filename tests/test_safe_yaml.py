"""YAML with limits: real plans load as before; hostile input is refused quickly with a line; any text
written with `dump_scalar` reads back as exactly that text and never as structure."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialpress.safe_yaml import YamlLimitError, YamlSyntaxError, dump_scalar, load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = int(os.environ.get("TRIALPRESS_PROPERTY_EXAMPLES", "300"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def refused_quickly() -> Iterator[None]:
    start = time.perf_counter()
    yield
    assert time.perf_counter() - start < 10.0   # refused, not parsed: a hang or a parse would take minutes


def refused(text: str | bytes, **limits: int) -> YamlLimitError:
    with pytest.raises(YamlLimitError) as caught:
        load(text, **limits)
    return caught.value


# ---- what loads ----------------------------------------------------------------------------------

@pytest.mark.parametrize("plan", sorted((ROOT / "analysis").glob("*.yml")), ids=lambda p: p.name)
def test_real_plans_load_as_safe_load_does(plan: Path) -> None:
    text = plan.read_bytes()
    data, node = load(text)
    assert data == yaml.safe_load(text)
    assert isinstance(node, yaml.MappingNode)
    study_key = next(k for k, _ in node.value if k.value == "study")
    assert text.decode().splitlines()[study_key.start_mark.line].startswith("study:")


def test_ordinary_yaml() -> None:
    data, node = load("a: 1\nb: [x, 'y', {c: =}]\nd: !!str 12\ne: !!int '7'\nf: ~\ng: yes\n")
    assert data == {"a": 1, "b": ["x", "y", {"c": "="}], "d": "12", "e": 7, "f": None, "g": True}
    assert [k.start_mark.line + 1 for k, _ in node.value] == [1, 2, 3, 4, 5, 6]
    assert load("") == (None, None)
    assert load("# only a comment\n") == (None, None)
    assert load("\ufeffa: 1".encode())[0] == {"a": 1}   # a UTF-8 byte-order mark is allowed
    assert load("a: é\n".encode())[0] == {"a": "é"}


# ---- what is refused -------------------------------------------------------------------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def test_alias_bomb_is_refused_at_the_first_anchor() -> None:
    with refused_quickly():
        err = refused(BOMB)
    assert err.line == 1
    assert "anchors (&a) are not allowed" in err.message and "no need" in err.message


def test_aliases_and_anchors() -> None:
    assert refused("a: 1\nb: &x [1]\n").line == 2
    err = refused("a: 1\n\nb: *x\n")
    assert err.line == 3 and "aliases (*x) are not allowed" in err.message


@pytest.mark.parametrize("deep", [
    "[" * 5000 + "]" * 5000,
    "{a: " * 5000 + "1" + "}" * 5000,
    "".join("  " * i + "-\n" for i in range(5000)),
    "".join(" " * i + "a:\n" for i in range(5000)),
    "- " * 5000 + "x",
], ids=["flow-seq", "flow-map", "block-seq", "block-map", "compact-seq"])
def test_deep_nesting_is_refused_without_recursion(deep: str) -> None:
    with refused_quickly():
        err = refused(deep, max_bytes=100_000_000)
    assert "nested more than 50 levels deep" in err.message


def test_depth_limit_is_exact() -> None:
    assert load("[" * 50 + "]" * 50)[0] is not None
    assert "more than 50" in refused("[" * 51 + "]" * 51).message
    assert load("[[1]]", max_depth=2)[0] == [[1]]
    refused("[[[1]]]", max_depth=2)


def test_huge_input_is_refused_before_parsing() -> None:
    with refused_quickly():
        err = refused(b"a: " + b"x" * 100_000_000)
        refused("x" * 100_000_000)
        refused("a: b\n" * 20_000_000)
    assert "more than 1,000,000 bytes" in err.message and err.line == 1
    assert refused("é" * 600_000).message.startswith("more than 1,000,000 bytes")   # UTF-8 bytes, not characters
    assert refused("a: b\n" * 10, max_bytes=20).line == 5


def test_node_limit() -> None:
    with refused_quickly():
        err = refused("[" + "1," * 200_000 + "]", max_nodes=1_000)
    assert "more than 1,000 values" in err.message
    assert load("[1, 2]", max_nodes=3)[0] == [1, 2]
    refused("[1, 2, 3]", max_nodes=3)


@pytest.mark.parametrize(("text", "shown"), [
    ("a: !!python/object/apply:os.system ['echo hi']\n", "!!python/object/apply:os.system"),
    ("a: !!python/name:os.system x\n", "!!python/name:os.system"),
    ("a: !custom 1\n", "!custom"),
    ("a: !!binary aGVsbG8=\n", "!!binary"),
    ("a: !!set {x}\n", "!!set"),
    ("%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n", "tag:example.com,2000:thing"),
])
def test_non_standard_tags(text: str, shown: str) -> None:
    err = refused(text)
    assert f"the tag {shown!r} is not allowed" in err.message
    assert err.line == text.count("\n", 0, text.index("a:")) + 1


def test_merge_and_duplicate_keys() -> None:
    err = refused("a: {x: 1}\nb:\n  <<: {x: 2}\n")
    assert err.line == 3 and "merge keys" in err.message
    err = refused("study:\n  id: x\npopulations: {}\nstudy:\n  id: y\n")
    assert err.line == 4 and err.message == "duplicate key 'study' (first at line 1)"
    assert refused("a: {k: 1, k: 2}").message.startswith("duplicate key 'k'")


def test_encoding() -> None:
    err = refused(b"a: 1\nb: caf\xe9\n")
    assert err.line == 2 and "not UTF-8" in err.message
    assert "not UTF-8" in refused("a: é".encode("utf-16")).message
    assert "lone surrogate" in refused("a: 1\nb: \ud800\n").message
    err = refused('a: "\\ud800"\n')   # an escape that decodes to a lone surrogate
    assert err.line == 1 and "lone surrogate" in err.message


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: 2001-02-30\n", 1, "cannot be read"),
    ("a: 1\nb: " + "1" * 5000 + "\n", 2, "cannot be read"),
    ("a: !!bool maybe\n", 1, "cannot be read"),
    ("a: !!int ''\n", 1, "cannot be read"),
    ("a: !!float x\n", 1, "cannot be read"),
])
def test_unreadable_values(text: str, line: int, words: str) -> None:
    err = refused(text)
    assert err.line == line and words in err.message


@pytest.mark.parametrize(("text", "line"), [
    ("a: [1, 2\nb: 3\n", 2),
    ("a:\n\tb: 1\n", 2),
    ("a: 1\n---\nb: 2\n", 2),
    ("a: b: c\n", 1),
    ("a: 1\nb: x\x00\n", 2),
    ("a: '\n", 2),
])
def test_syntax_errors_carry_the_line(text: str, line: int) -> None:
    err = refused(text)
    assert isinstance(err, YamlSyntaxError)
    assert err.line == line
    assert str(err).startswith(f"line {line}: ")


YAMLISH = st.lists(st.sampled_from(
    ["a", "b", ":", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ",", "&x ", "*x", "!!str ", "!t ", "!!python/x ",
     "'", '"', "\\u0041", "\\ud800", "#", "? ", "<<", "|", ">", "---", "...", "%YAML 1.1", "1", "2020-02-30", "~",
     "\t", "\x00", "é", "\ud800"]), max_size=30).map("".join)


@FAST
@given(st.one_of(st.text(max_size=200), YAMLISH, st.binary(max_size=200)))
def test_random_input_raises_only_yaml_limit_error(text: str | bytes) -> None:
    try:
        load(text, max_depth=5, max_nodes=50)
    except YamlLimitError as err:
        assert err.line >= 1


# ---- dump_scalar -------------------------------------------------------------------------------------

TRICKY = ["", " ", "  lead", "trail  ", "a\nb: c", "x\n- y", "key: value", "# not a comment", "a #b", "'", '"',
          "\\", "\\n", "yes", "no", "null", "~", "1", "0x1F", "1e3", "2020-01-01", "*alias", "&anchor", "!tag",
          "{a: 1}", "[1]", "|", ">", "%", "@", "`", "---", "...", "\t", "\r\n", "\x00\x07\x1b\x7f", "\x85",
          "\u2028\u2029", "\ufeff", "\ufffe\uffff", "😀", "\U0010ffff", "é ü ß", "<<", "=", "?", "-", ": "]


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_dump_scalar_round_trips_tricky_values(value: str) -> None:
    dumped = dump_scalar(value)
    assert load(dumped)[0] == value
    assert load(f"key: {dumped}\nother: 1\n")[0] == {"key": value, "other": 1}


def _single_scalar(dumped: str) -> None:
    assert dumped.startswith('"') and dumped.endswith('"')
    assert not any(ch in dumped for ch in "\n\r\x85\u2028\u2029")   # one line, whatever the value


@FAST
@given(st.text())
def test_dump_scalar_round_trips_any_text(value: str) -> None:
    dumped = dump_scalar(value)
    _single_scalar(dumped)
    data, node = load(dumped)
    assert data == value
    assert isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str"
    # as scaffold writes values: in a flow mapping, in a block mapping, and inside a comment
    levels = load(f"levels:\n  - {{value: {dumped}, label: {dumped}}}\n")[0]
    assert levels == {"levels": [{"value": value, "label": value}]}
    assert load(f"a: 1   # values: {dumped}, {dumped}\nb: 2\n")[0] == {"a": 1, "b": 2}


@FAST
@given(st.lists(st.one_of(st.text(max_size=3), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)))
       .map("".join))
def test_lone_surrogates_become_the_replacement_character(value: str) -> None:
    dumped = dump_scalar(value)
    _single_scalar(dumped)
    expected = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    assert load(dumped)[0] == expected
    dumped.encode("utf-8")   # writable to a UTF-8 plan


def test_dump_scalar_of_non_text() -> None:
    assert load(dump_scalar(12))[0] == "12"
    assert load(dump_scalar(1.5))[0] == "1.5"
    assert dump_scalar("a\nb") == '"a\\nb"'
    assert dump_scalar('say "hi"') == '"say \\"hi\\""'
