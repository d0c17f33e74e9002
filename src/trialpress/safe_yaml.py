"""YAML in and out for untrusted text: the plan (in) and data values written into a plan (out).

`load` is `yaml.safe_load` with limits checked *while composing*, before any Python object is
built: a size cap before parsing, a cap on nesting depth (so nothing recurses deeply) and on the
number of nodes, and no anchors or aliases at all (a plan has no use for them, and they are what
a billion-laughs bomb is made of). Explicit tags other than YAML's standard scalar and collection
types are refused, as are merge keys (`<<`), duplicate keys (PyYAML silently keeps the last one)
and escapes that decode to lone surrogates. Every refusal is a `YamlLimitError` with a 1-based line.

`dump_scalar` writes any text as a double-quoted YAML scalar that reads back as exactly that text
and never as structure: every line break and control character is escaped, so the result is one
line that is inert even inside a `#` comment.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, NodeEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode

_STANDARD = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_STANDARD + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))
_MERGE = _STANDARD + "merge"
_SURROGATE = re.compile("[\ud800-\udfff]")


class YamlLimitError(ValueError):
    """Input refused: too big, too deep, too many nodes, an anchor/alias, a non-standard tag, a
    duplicate key, not UTF-8, or (as `YamlSyntaxError`) not valid YAML. `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message, line)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class YamlSyntaxError(YamlLimitError):
    """Malformed YAML (PyYAML's own complaint); a subclass so that one `except` catches every refusal."""


class _Resolver(yaml.resolver.Resolver):
    """SafeLoader's implicit types without `=` as the YAML 1.1 'value' type (which safe_load cannot construct)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _STANDARD + "value"]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
              yaml.constructor.SafeConstructor, _Resolver):
    """SafeLoader whose composer enforces the limits event by event."""

    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self.max_depth, self.max_nodes = max_depth, max_nodes
        self.depth = self.nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            raise YamlLimitError(f"aliases (*{event.anchor}) are not allowed: a plan has no need for them; "
                                 "write the value out in full", line)
        assert isinstance(event, NodeEvent)
        if event.anchor is not None:
            raise YamlLimitError(f"anchors (&{event.anchor}) are not allowed: a plan has no need for them; "
                                 "write the value out in full", line)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in ALLOWED_TAGS:
            shown = "!!" + tag[len(_STANDARD):] if tag.startswith(_STANDARD) else tag
            raise YamlLimitError(f"the tag {shown!r} is not allowed; only YAML's standard types (!!str, !!int, "
                                 "!!float, !!bool, !!null, !!timestamp, !!seq, !!map) are", line)
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise YamlLimitError(f"more than {self.max_nodes:,} values; a plan is far smaller", line)
        collection = isinstance(event, (SequenceStartEvent, MappingStartEvent))
        if collection and self.depth >= self.max_depth:
            raise YamlLimitError(f"nested more than {self.max_depth} levels deep", line)
        self.depth += collection
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= collection
        if node.tag == _MERGE:
            raise YamlLimitError("merge keys ('<<') are not allowed: write the keys out in full", line)
        if isinstance(node, ScalarNode) and _SURROGATE.search(node.value):
            raise YamlLimitError("an escape decodes to a lone surrogate (\\uD800-\\uDFFF), which is not text", line)
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """PyYAML's constructors, with their stray exceptions (e.g. `2001-02-30`, a 5,000-digit
        integer, `!!bool maybe`) turned into a refusal at the value's line."""
        try:
            return super().construct_object(node, deep=deep)
        except (YamlLimitError, yaml.YAMLError):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here is the input's value
            line = node.start_mark.line + 1
            raise YamlLimitError(f"the value {_snippet(node)} cannot be read: {exc}", line) from None

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Node] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:   # unhashable: PyYAML reports it below
                    continue
                if first is not key_node:
                    raise YamlLimitError(f"duplicate key {key!r} (first at line {first.start_mark.line + 1})",
                                         key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)   # type: ignore[no-any-return]


def _snippet(node: Node) -> str:
    value = node.value if isinstance(node, ScalarNode) else f"<{node.id}>"
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _too_big(max_bytes: int, line: int) -> YamlLimitError:
    return YamlLimitError(f"more than {max_bytes:,} bytes; a plan is far smaller", line)


def _decoded(text: str | bytes, max_bytes: int) -> str:
    """`text` as str within `max_bytes` of UTF-8, refusing anything else before YAML sees it."""
    if isinstance(text, str):
        if len(text) > max_bytes:   # each character is at least one byte: refuse without encoding
            raise _too_big(max_bytes, text.count("\n", 0, max_bytes) + 1)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise YamlLimitError("the text holds a lone surrogate, which is not valid Unicode",
                                 text.count("\n", 0, exc.start) + 1) from None
    else:
        data = bytes(text)
    if len(data) > max_bytes:
        raise _too_big(max_bytes, data.count(b"\n", 0, max_bytes) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlLimitError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8",
                             data.count(b"\n", 0, exc.start) + 1) from None


def _syntax_error(exc: yaml.YAMLError, text: str) -> YamlSyntaxError:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return YamlSyntaxError(f"the character U+{ord(char):04X} is not allowed in YAML; write it as an escape "
                               "inside double quotes", line)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem, context = exc.problem or "", exc.context or ""
        if problem.startswith("but "):   # PyYAML's "expected X ... but found Y" split in two
            said = f"{context}, {problem}"
        else:
            said = f"{problem} ({context})" if problem and context else problem or context or "invalid"
        return YamlSyntaxError(f"not valid YAML: {said}", mark.line + 1 if mark else 1)
    return YamlSyntaxError(f"not valid YAML: {exc}", 1)


def load(text: str | bytes, *, max_bytes: int = 1_000_000, max_depth: int = 50,
         max_nodes: int = 100_000) -> tuple[Any, Node | None]:
    """(data, root node) of a single YAML document; (None, None) when it is empty.

    The node tree carries each value's line (`node.start_mark.line + 1`). Raises only
    `YamlLimitError` (`YamlSyntaxError` for malformed YAML)."""
    decoded = _decoded(text, max_bytes)
    try:
        loader = _Loader(decoded, max_depth, max_nodes)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, decoded) from None
    return data, node


# ---- out ----------------------------------------------------------------------------------------

_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    return f"\\x{ord(ch):02X}" if ord(ch) <= 0xFF else f"\\u{ord(ch):04X}"


def dump_scalar(value: object) -> str:
    """`value` (as `str(value)` unless it is text) as a one-line double-quoted YAML scalar that loads back as
    exactly that text. Lone surrogates (U+D800-U+DFFF, which no UTF-8 file can hold and YAML has no escape
    for) become U+FFFD; nothing else changes."""
    text = value if isinstance(value, str) else str(value)
    text = _SURROGATE.sub("\ufffd", text)
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


__all__ = ["load", "dump_scalar", "YamlLimitError", "YamlSyntaxError", "ALLOWED_TAGS"]
