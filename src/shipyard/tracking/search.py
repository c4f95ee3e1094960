"""The run search language: a tokenizer and a recursive-descent parser (no SQL, no eval).

Filters (keywords are case-insensitive; ``not`` binds tighter than ``and``, ``and``
tighter than ``or``)::

    filter    := or_expr END
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | "(" or_expr ")" | predicate
    predicate := field ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
               | field ["not"] "in" "(" value ("," value)* ")"
               | field ["not"] "like" STRING
               | field "is" ["not"] "null"
    field     := ("metrics" | "params" | "tags") "." KEY | ATTRIBUTE
    value     := NUMBER | STRING

    order_by  := [order_key ("," order_key)*] END
    order_key := field ["asc" | "desc"]

``KEY`` is ``[A-Za-z0-9_.\\-/]+`` or a backquoted name (`` metrics.`val loss` ``).
``ATTRIBUTE`` is one of ``id``, ``name``, ``status``, ``user``, ``start_time``,
``end_time`` and ``experiment`` (the experiment's name). ``NUMBER`` is an int or a float
with an optional exponent and minus sign. ``STRING`` is quoted with ``'`` or ``"``; the
escapes ``\\\\ \\' \\" \\n \\t \\r`` are decoded and any other backslash is kept as is.

Types are checked while parsing: metrics, ``start_time`` and ``end_time`` compare with
numbers only (and never with ``like``); ``status`` takes ``=``, ``!=``, ``in`` and
``not in`` with one of running, finished, failed, killed; params, tags and the other
attributes are text. A number compared with text is compared as its text form *exactly
as written*: ``params.n = 10`` matches the param ``"10"``, not ``"10.0"``. ``like``
patterns are case-sensitive, with ``%`` (any run of characters), ``_`` (one character)
and ``\\`` escaping the next character (``'100\\%'`` matches ``100%``). A comparison on
a key the run does not have (or on an empty ``end_time``) is false, including ``!=``;
``not`` turns it true; ``is null`` means "the run has no such key".

This module is mostly one parser; its functions follow the grammar one rule each.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from shipyard.errors import ValidationError

FieldKind = Literal["metric", "param", "tag", "attribute"]  # attribute: a column of runs
CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
Value: TypeAlias = str | float

ATTRIBUTES = ("id", "name", "status", "user", "start_time", "end_time", "experiment")
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
STATUSES = ("running", "finished", "failed", "killed")
_PREFIXES: dict[str, FieldKind] = {"metrics": "metric", "params": "param", "tags": "tag"}
_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "is", "null", "asc", "desc"})
_OPERATORS: dict[str, CompareOp] = {
    "<=": "<=", ">=": ">=", "!=": "!=", "<>": "!=", "=": "=", "<": "<", ">": ">",
}  # fmt: skip
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "`": "`", "n": "\n", "t": "\t", "r": "\r"}
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z0-9_.\-/]+")


class SearchSyntaxError(ValidationError):
    """A filter or order-by expression that does not parse or breaks a type rule.

    ``position`` is the 0-based offset of the mistake in ``text``; the message is one
    self-contained line and ``details`` holds a caret picture pointing at the mistake.
    """

    def __init__(self, message: str, *, text: str, position: int) -> None:
        pointer = caret_picture(text, position)
        super().__init__(
            message, details=[{"position": position, "expression": text, "pointer": pointer}]
        )
        self.text = text
        self.position = position


def caret_picture(text: str, position: int) -> str:
    """Two indented lines: the line of ``text`` holding ``position``, and a caret under it."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : len(text) if end < 0 else end]
    pad = "".join("\t" if char == "\t" else " " for char in line[: position - start])
    return f"  {line}\n  {pad}^"


# -- the syntax tree ----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A metric, param or tag ``key``, or a run attribute (``kind == "attribute"``)."""

    kind: FieldKind
    key: str

    @property
    def numeric(self) -> bool:
        """True for fields that compare with numbers."""
        return self.kind == "metric" or (
            self.kind == "attribute" and self.key in NUMERIC_ATTRIBUTES
        )

    def __str__(self) -> str:
        if self.kind == "attribute":
            return self.key
        key = self.key
        if not _KEY.fullmatch(key):
            key = "`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`"
        return f"{self.kind}s.{key}"


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``value`` is a float for numeric fields, else text."""

    field: Field
    op: CompareOp
    value: Value


@dataclass(frozen=True)
class InList:
    """``field [not] in (values...)``."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """``field [not] like pattern``: ``%``, ``_`` and ``\\`` escapes, case-sensitive."""

    field: Field
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``: whether the run lacks the key (or has no end time)."""

    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    """All of ``items`` hold."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one of ``items`` holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``item`` does not hold."""

    item: Node


Node: TypeAlias = Compare | InList | Like | IsNull | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``--order-by`` key: a field, ascending unless ``descending``."""

    field: Field
    descending: bool = False


def parse_filter(text: str) -> Node | None:
    """Parse a filter expression; None when ``text`` is empty or blank."""
    parser = _Parser(text)
    if parser.peek().kind == "end":
        return None
    node = parser.or_expr()
    parser.expect_end("'and', 'or' or the end")
    return node


def parse_order_by(text: str) -> list[OrderKey]:
    """Parse ``KEY [asc|desc], ...``; an empty list when ``text`` is empty or blank."""
    parser = _Parser(text)
    keys: list[OrderKey] = []
    if parser.peek().kind == "end":
        return keys
    while True:
        field = parser.field()
        direction = parser.accept_keyword("asc", "desc")
        keys.append(OrderKey(field, direction is not None and direction.text.lower() == "desc"))
        if not parser.accept_punct(","):
            parser.expect_end("',' or the end" if direction else "'asc', 'desc', ',' or the end")
            return keys


# -- tokens -------------------------------------------------------------------------------

TokenKind = Literal["word", "field", "string", "number", "op", "punct", "end"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str  # the source text, quotes included
    pos: int
    value: Value | None = None  # decoded string, float, or canonical operator
    field: Field | None = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            tokens.append(_Token("end", "", pos))
            return tokens
        token = _next_token(text, pos)
        tokens.append(token)
        pos += len(token.text)


def _next_token(text: str, pos: int) -> _Token:
    char = text[pos]
    if char in "(),":
        return _Token("punct", char, pos)
    if text.startswith("==", pos):
        raise _error("'==' is not an operator", text, pos, "use '=' to compare")
    for op, canonical in _OPERATORS.items():
        if text.startswith(op, pos):
            return _Token("op", op, pos, value=canonical)
    if char in "'\"":
        value, end = _read_quoted(text, pos)
        return _Token("string", text[pos:end], pos, value=value)
    if char.isdigit() or char in "-.":
        return _read_number(text, pos)
    if _WORD.match(text, pos):
        return _read_word(text, pos)
    hint = "backquotes name a key after a prefix, e.g. metrics.`val loss`" if char == "`" else None
    raise _error(f"unexpected character {char!r}", text, pos, hint)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Decode the quoted string or backquoted key at ``start``; returns it and its end."""
    quote, pos = text[start], start + 1
    out: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(text):
            out.append(_ESCAPES.get(text[pos + 1], "\\" + text[pos + 1]))
            pos += 2
            continue
        out.append(char)
        pos += 1
    what = "key" if quote == "`" else "string"
    raise _error(f"unclosed {what} (no closing {quote})", text, start)


def _read_number(text: str, pos: int) -> _Token:
    match = _NUMBER.match(text, pos)
    if match is None:
        raise _error(f"unexpected character {text[pos]!r}", text, pos)
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "_."):
        bad = re.split(r"[\s(),=<>!]", text[pos:], maxsplit=1)[0]
        raise _error(f"invalid number {bad!r}", text, pos)
    value = float(match.group())
    if not math.isfinite(value):
        raise _error(f"number {match.group()!r} is out of range", text, pos)
    return _Token("number", match.group(), pos, value=value)


def _read_word(text: str, pos: int) -> _Token:
    """A keyword or attribute name, or a ``prefix.KEY`` field."""
    match = _WORD.match(text, pos)
    assert match is not None  # checked by the caller
    word, end = match.group(), match.end()
    if end >= len(text) or text[end] != ".":
        return _Token("word", word, pos)
    kind = _PREFIXES.get(word.lower())
    if kind is None:
        hint = _did_you_mean(word.lower(), tuple(_PREFIXES))
        raise _error(
            f"unknown prefix {word!r}", text, pos, hint or "use metrics., params. or tags."
        )
    if end + 1 < len(text) and text[end + 1] == "`":
        key, key_end = _read_quoted(text, end + 1)
        if not key:
            raise _error("empty key", text, end + 1)
    else:
        key_match = _KEY.match(text, end + 1)
        if key_match is None:
            raise _error(f"expected a key after '{word}.'", text, end + 1)
        key, key_end = key_match.group(), key_match.end()
    return _Token("field", text[pos:key_end], pos, field=Field(kind, key))


def _attribute(name: str, text: str, pos: int) -> str:
    if name.lower() in ATTRIBUTES:
        return name.lower()
    hint = _did_you_mean(name.lower(), ATTRIBUTES) or (
        f"attributes are {', '.join(ATTRIBUTES)}; "
        f"name a metric, param or tag with a prefix, e.g. metrics.{name}"
    )
    raise _error(f"unknown attribute {name!r}", text, pos, hint)


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else None


def _error(head: str, text: str, pos: int, hint: str | None = None) -> SearchSyntaxError:
    message = f"{head} at position {pos}" + (f"; {hint}" if hint else "")
    return SearchSyntaxError(message, text=text, position=pos)


# -- the parser ---------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += token.kind != "end"
        return token

    def accept_keyword(self, *words: str) -> _Token | None:
        token = self.peek()
        if token.kind == "word" and token.text.lower() in words:
            return self.advance()
        return None

    def accept_punct(self, char: str) -> _Token | None:
        token = self.peek()
        return self.advance() if token.kind == "punct" and token.text == char else None

    def fail(self, head: str, token: _Token, hint: str | None = None) -> SearchSyntaxError:
        got = f", got {token.text!r}" if token.kind != "end" else ""
        return _error(head + got, self.text, token.pos, hint)

    def expect_end(self, expected: str) -> None:
        token = self.peek()
        if token.kind == "end":
            return
        if token.kind == "punct" and token.text == ")":
            raise _error("unmatched ')'", self.text, token.pos)
        raise self.fail(f"expected {expected}", token)

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.accept_keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.accept_keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.accept_keyword("not"):
            return Not(self.not_expr())
        opening = self.accept_punct("(")
        if opening is None:
            return self.predicate()
        node = self.or_expr()
        if self.accept_punct(")") is None:
            token = self.peek()
            if token.kind == "end":
                raise _error("unclosed parenthesis", self.text, opening.pos)
            raise self.fail("expected ')', 'and' or 'or'", token)
        return node

    def field(self, expected: str = "a field") -> Field:
        token = self.advance()
        if token.field is not None:
            return token.field
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            return Field("attribute", _attribute(token.text, self.text, token.pos))
        if token.kind == "end" and self.index > 0:
            previous = self.tokens[self.index - 1]
            raise _error(f"expected {expected} after {previous.text!r}", self.text, token.pos)
        raise self.fail(f"expected {expected}", token, "e.g. metrics.auc, params.model, status")

    def predicate(self) -> Node:
        start = self.peek()
        field = self.field()
        token = self.advance()
        if token.kind == "op":
            op: CompareOp = _OPERATORS[token.text]
            return Compare(field, op, self.typed_value(field, token, self.value(token)))
        word = token.text.lower() if token.kind == "word" else ""
        if word == "is":
            negated = self.accept_keyword("not") is not None
            if self.accept_keyword("null") is None:
                raise self.fail("expected 'null' after 'is'", self.peek())
            return self.is_null(field, start, negated)
        negated = word == "not"
        if negated:
            token = self.advance()
            word = token.text.lower() if token.kind == "word" else ""
        if word == "in":
            return InList(field, self.in_list(field, token), negated)
        if word == "like":
            return Like(field, self.like_pattern(field, token), negated)
        expected = "'in' or 'like'" if negated else "an operator"
        raise self.fail(f"expected {expected} after {str(field)!r}", token)

    def value(self, after: _Token) -> _Token:
        token = self.advance()
        if token.kind in ("string", "number"):
            return token
        head = f"expected a value after {after.text!r}"
        if token.kind == "word" and token.text.lower() == "null":
            raise self.fail(head, token, "test for a missing key with 'is null'")
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            raise self.fail(head, token, f"quote text: '{token.text}'")
        if token.kind == "field":
            raise self.fail(head, token, "comparing two fields is not supported")
        raise self.fail(head, token)

    def typed_value(self, field: Field, op: _Token, token: _Token) -> Value:
        """Check ``token`` against the type of ``field``; the value to compare with."""
        if field.numeric:
            if token.kind != "number":
                raise self.fail(f"{field} compares with numbers only", token)
            assert isinstance(token.value, float)
            return token.value
        if field == Field("attribute", "status"):
            if op.value not in ("=", "!=", "in"):
                raise self.fail("status supports =, !=, in and not in only", op)
            if token.value not in STATUSES:
                hint = _did_you_mean(str(token.value), STATUSES)
                raise self.fail(f"status is one of {', '.join(STATUSES)}", token, hint)
        return token.text if token.kind == "number" else str(token.value)

    def in_list(self, field: Field, keyword: _Token) -> tuple[Value, ...]:
        if self.accept_punct("(") is None:
            raise self.fail(f"expected '(' after {keyword.text!r}", self.peek())
        if (closing := self.accept_punct(")")) is not None:
            raise _error("empty list after 'in'", self.text, closing.pos, "give at least one value")
        in_op = _Token("op", keyword.text, keyword.pos, value="in")
        values = [self.typed_value(field, in_op, self.value(keyword))]
        while (comma := self.accept_punct(",")) is not None:
            values.append(self.typed_value(field, in_op, self.value(comma)))
        if self.accept_punct(")") is None:
            token = self.peek()
            if token.kind == "end":
                raise _error("unclosed parenthesis after 'in'", self.text, token.pos)
            raise self.fail("expected ',' or ')' in the list", token)
        return tuple(values)

    def like_pattern(self, field: Field, keyword: _Token) -> str:
        if field.numeric or field == Field("attribute", "status"):
            hint = "like works on params, tags, id, name, user and experiment"
            raise self.fail(f"{field} cannot be matched with like", keyword, hint)
        token = self.advance()
        if token.kind != "string":
            raise self.fail(f"expected a quoted pattern after {keyword.text!r}", token)
        pattern = str(token.value)
        if re.search(r"(?<!\\)(?:\\\\)*\\$", pattern):
            hint = "to match a backslash, write four: '\\\\\\\\'"
            raise self.fail("like pattern ends with a lone '\\'", token, hint)
        return pattern

    def is_null(self, field: Field, start: _Token, negated: bool) -> IsNull:
        if field.kind == "attribute" and field.key != "end_time":
            hint = "only metrics, params, tags and end_time can be null"
            raise _error(f"{field} is never null", self.text, start.pos, hint)
        return IsNull(field, negated)
