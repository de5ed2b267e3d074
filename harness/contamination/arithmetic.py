"""Exact arithmetic for GSM8K's calculator annotations (`<<48/2=24>>`).

GSM8K's worked answers mark every computation as ``<<expression=result>>`` (Cobbe et al. 2021). The
expressions use only numbers, ``+ - * /``, parentheses and unary minus, so a tiny recursive-descent
parser is all that is needed; it keeps where each number literal sits in the text (so a twin can put
a new value exactly there) and evaluates with :class:`fractions.Fraction`, so ``0.1 + 0.2`` is ``3/10``
and a recomputed step is exact, never a float that merely prints the same. Python's ``ast`` would
parse the same grammar but turns ``1.5`` into a float before we can read it exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")


class ExpressionError(ValueError):
    """An annotation that is not plain arithmetic (or divides by zero)."""


@dataclass(frozen=True)
class Literal:
    """A number literal in an expression: its exact value and where its text sits."""

    value: Fraction
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Expression:
    """A parsed annotation expression: its text, its literals (in order) and its exact value."""

    text: str
    literals: tuple[Literal, ...]
    value: Fraction
    tree: tuple = ()  # ("lit", i) | ("neg", node) | (op, left, right): evaluated without re-parsing

    def evaluate(self, values: list[Fraction] | tuple[Fraction, ...]) -> Fraction:
        """The expression's value with its literals replaced, in order, by ``values``."""
        if len(values) != len(self.literals):
            raise ValueError(f"{len(self.literals)} literals, {len(values)} values")
        return _evaluate(self.tree, values, self.text)

    def render(self, texts: list[str] | tuple[str, ...]) -> str:
        """The expression's text with its literals replaced, in order, by ``texts``."""
        out, last = [], 0
        for lit, new in zip(self.literals, texts, strict=True):
            out.append(self.text[last : lit.start])
            out.append(new)
            last = lit.end
        out.append(self.text[last:])
        return "".join(out)


def parse_number(text: str) -> Fraction:
    """``"80,000"`` -> 80000, ``"1.5"`` -> 3/2, ``".5"`` -> 1/2 (exact)."""
    cleaned = text.replace(",", "")
    if not cleaned or cleaned.count(".") > 1:
        raise ExpressionError(f"not a number: {text!r}")
    return Fraction(cleaned)


def parse_expression(text: str) -> Expression:
    """Parse and evaluate one annotation expression exactly; raise ExpressionError if it is not
    plain arithmetic on number literals."""
    parser = _Parser(text)
    value, literals = parser.parse()
    return Expression(text=text, literals=tuple(literals), value=value, tree=parser.tree)


def _evaluate(node: tuple, values: list[Fraction] | tuple[Fraction, ...], text: str) -> Fraction:
    kind = node[0]
    if kind == "lit":
        return values[node[1]]
    if kind == "neg":
        return -_evaluate(node[1], values, text)
    left, right = _evaluate(node[1], values, text), _evaluate(node[2], values, text)
    if kind == "+":
        return left + right
    if kind == "-":
        return left - right
    if kind == "*":
        return left * right
    if right == 0:
        raise ExpressionError(f"division by zero in {text!r}")
    return left / right


class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ;
    unary := '-' unary | atom ; atom := NUMBER | '(' expr ')'.  Builds the value and a tree."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.literals: list[Literal] = []
        self.tree: tuple = ()

    def parse(self) -> tuple[Fraction, list[Literal]]:
        value, self.tree = self._expr()
        self._skip()
        if self.pos != len(self.text):
            raise ExpressionError(f"unexpected {self.text[self.pos :]!r} in {self.text!r}")
        if not self.literals:
            raise ExpressionError(f"no number in {self.text!r}")
        return value, self.literals

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _peek(self) -> str:
        self._skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _expr(self) -> tuple[Fraction, tuple]:
        value, node = self._term()
        while self._peek() in ("+", "-"):
            op = self.text[self.pos]
            self.pos += 1
            rhs, rnode = self._term()
            value = value + rhs if op == "+" else value - rhs
            node = (op, node, rnode)
        return value, node

    def _term(self) -> tuple[Fraction, tuple]:
        value, node = self._unary()
        while self._peek() in ("*", "/"):
            op = self.text[self.pos]
            self.pos += 1
            rhs, rnode = self._unary()
            if op == "*":
                value = value * rhs
            else:
                if rhs == 0:
                    raise ExpressionError(f"division by zero in {self.text!r}")
                value = value / rhs
            node = (op, node, rnode)
        return value, node

    def _unary(self) -> tuple[Fraction, tuple]:
        if self._peek() == "-":
            self.pos += 1
            value, node = self._unary()
            return -value, ("neg", node)
        return self._atom()

    def _atom(self) -> tuple[Fraction, tuple]:
        ch = self._peek()
        if ch == "(":
            self.pos += 1
            value, node = self._expr()
            if self._peek() != ")":
                raise ExpressionError(f"unbalanced parenthesis in {self.text!r}")
            self.pos += 1
            return value, node
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise ExpressionError(f"expected a number at {self.text[self.pos :]!r} in {self.text!r}")
        literal_text = match.group(0)
        if "," in literal_text and not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", literal_text):
            raise ExpressionError(f"ambiguous comma in {literal_text!r} in {self.text!r}")
        own = parse_number(literal_text)
        index = len(self.literals)
        self.literals.append(Literal(own, match.start(), match.end(), literal_text))
        self.pos = match.end()
        return own, ("lit", index)
