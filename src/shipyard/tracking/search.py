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

The tree the parser builds is in ``shipyard.search_tree``; the tokenizer and the parser
share this module's error helpers, and the parser's methods follow the grammar one rule
each.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

from shipyard.errors import ValidationError
from shipyard.search_tree import (
    ATTRIBUTES,
    STATUSES,
    And,
    Compare,
    CompareOp,
    Field,
    FieldKind,
    InList,
    IsNull,
    Like,
    Node,
    Not,
    Or,
    OrderKey,
    Value,
)

MAX_DEPTH = 50
_PREFIXES: dict[str, FieldKind] = {"metrics": "metric", "params": "param", "tags": "tag"}
_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "is", "null", "asc", "desc"})
_OPERATORS: dict[str, CompareOp] = {
    "<=": "<=", ">=": ">=", "!=": "!=", "<>": "!=", "=": "=", "<": "<", ">": ">",
}  # fmt: skip
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "`": "`", "n": "\n", "t": "\t", "r": "\r"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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

TokenKind = Literal["punct", "op", "string", "number", "prefix", "word", "end"]
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<punct>[(),])
    | (?P<op><=|>=|!=|<>|=(?!=)|<|>)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])
    | (?P<prefix>[A-Za-z_]\w*)\.(?:(?P<quoted>`(?:[^`\\]|\\.)*`)|(?P<key>[\w.\-/]+))
    | (?P<word>[A-Za-z_]\w*+)(?!\.)
    | (?P<end>\Z)
    )""",
    re.VERBOSE | re.DOTALL | re.ASCII,
)
_KINDS: tuple[TokenKind, ...] = ("punct", "op", "string", "number", "prefix", "word", "end")


@dataclass(frozen=True)
class _Token:
    kind: TokenKind  # a "prefix" token is a whole field: metrics.auc
    text: str  # the source text, quotes included
    pos: int
    value: Value | None = None  # decoded string, float, or canonical operator
    field: Field | None = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while tokens[-1:] == [] or tokens[-1].kind != "end":
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _lex_error(text, len(text) - len(text[pos:].lstrip()))
        tokens.append(_token(text, match))
        pos = match.end()
    return tokens


def _token(text: str, match: re.Match[str]) -> _Token:
    kind = next(kind for kind in _KINDS if match.group(kind) is not None)
    source, pos = match.group(kind), match.start(kind)
    if kind == "op":
        return _Token(kind, source, pos, value=_OPERATORS[source])
    if kind == "string":
        return _Token(kind, source, pos, value=_unescape(source[1:-1]))
    if kind == "number":
        value = float(source)
        if not math.isfinite(value):
            raise _error(f"number {source!r} is out of range", text, pos)
        return _Token(kind, source, pos, value=value)
    if kind == "prefix":
        return _field_token(text, match)
    return _Token(kind, source, pos)


def _field_token(text: str, match: re.Match[str]) -> _Token:
    prefix, pos = match.group("prefix"), match.start("prefix")
    field_kind = _PREFIXES.get(prefix.lower())
    if field_kind is None:
        hint = _did_you_mean(prefix.lower(), tuple(_PREFIXES))
        raise _error(
            f"unknown prefix {prefix!r}", text, pos, hint or "use metrics., params. or tags."
        )
    key = match.group("key")
    if key is None:
        key = _unescape(match.group("quoted")[1:-1])
        if not key:
            raise _error("empty key", text, match.start("quoted"))
    return _Token("prefix", text[pos : match.end()], pos, field=Field(field_kind, key))


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), body, flags=re.DOTALL)


def _lex_error(text: str, pos: int) -> SearchSyntaxError:
    """Say why no token starts at ``pos``."""
    char, rest = text[pos], text[pos:]
    if char in "'\"" or (char == "`" and not re.match(r"`(?:[^`\\]|\\.)*`", rest, re.DOTALL)):
        what = "key" if char == "`" else "string"
        return _error(f"unclosed {what} (no closing {char})", text, pos)
    if rest.startswith("=="):
        return _error("'==' is not an operator", text, pos, "use '=' to compare")
    if word := _WORD.match(rest):  # a prefix whose key is missing or unclosed
        after = pos + word.end() + 1
        if after < len(text) and text[after] == "`":
            return _lex_error(text, after)
        return _error(f"expected a key after {text[pos:after]!r}", text, after)
    if re.match(r"-?\.?\d", rest):
        bad = re.split(r"[\s(),=<>!]", rest, maxsplit=1)[0]
        return _error(f"invalid number {bad!r}", text, pos)
    hint = "backquotes name a key after a prefix, e.g. metrics.`val loss`" if char == "`" else None
    return _error(f"unexpected character {char!r}", text, pos, hint)


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
        self.depth = 0

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
        shown = token.text if token.kind == "string" else repr(token.text)
        got = f", got {shown}" if token.kind != "end" else ""
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
        return Or(tuple(items)) if len(items) > 1 else items[0]

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.accept_keyword("and"):
            items.append(self.not_expr())
        return And(tuple(items)) if len(items) > 1 else items[0]

    def not_expr(self) -> Node:
        opener = self.accept_keyword("not") or self.accept_punct("(")
        if opener is None:
            return self.predicate()
        self.depth += 1
        if self.depth > MAX_DEPTH:  # deeper would exhaust Python's stack, here or in SQL
            raise _error(f"more than {MAX_DEPTH} nested 'not' or '('", self.text, opener.pos)
        node = self.group(opener) if opener.text == "(" else Not(self.not_expr())
        self.depth -= 1
        return node

    def group(self, opening: _Token) -> Node:
        node = self.or_expr()
        if self.accept_punct(")") is None:
            token = self.peek()
            if token.kind == "end":
                raise _error("unclosed parenthesis", self.text, opening.pos)
            raise self.fail("expected ')', 'and' or 'or'", token)
        return node

    def field(self) -> Field:
        token = self.advance()
        if token.field is not None:  # a prefix token
            return token.field
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            return Field("attribute", _attribute(token.text, self.text, token.pos))
        if token.kind == "end" and self.index > 0:
            previous = self.tokens[self.index - 1]
            raise _error(f"expected a field after {previous.text!r}", self.text, token.pos)
        raise self.fail("expected a field", token, "e.g. metrics.auc, params.model, status")

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
        if token.kind == "prefix":
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
                head = f"status supports =, !=, in and not in, not {op.text!r}"
                raise _error(head, self.text, op.pos)
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
            raise _error(f"{field} cannot be matched with like", self.text, keyword.pos, hint)
        token = self.advance()
        if token.kind != "string":
            raise self.fail(f"expected a quoted pattern after {keyword.text!r}", token)
        pattern = str(token.value)
        if re.search(r"(?<!\\)(?:\\\\)*\\$", pattern):
            hint = "to match a backslash, write four: '\\\\\\\\'"
            raise _error("like pattern ends with a lone '\\'", self.text, token.pos, hint)
        return pattern

    def is_null(self, field: Field, start: _Token, negated: bool) -> IsNull:
        if field.kind == "attribute" and field.key != "end_time":
            hint = "only metrics, params, tags and end_time can be null"
            raise _error(f"{field} is never null", self.text, start.pos, hint)
        return IsNull(field, negated)
