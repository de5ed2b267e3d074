"""GSM8K twins: the same word problem with new numbers, every step recomputed exactly.

A model that has seen a test item can score on it without being able to solve it; a fresh twin (same
story, same operations, new numbers) has never been published, so the gap between the two is the
part of the score that does not generalise (ConStat, Dekoninck et al. 2024). GSM-Symbolic (Mirzadeh et
al. 2024) builds such variants from hand-written templates; we derive the template from GSM8K's own
calculator annotations, without a human in the loop, and therefore refuse every item where that
derivation is not safe.

How a template is derived (``extract_template``):

1. The question's numbers (digits, ``$``, ``%``, commas, decimals, number words up to 99) become
   *quantities*. Numbers that could be a unit constant (7, 12, 24, 30, 60, 100, 365, ...), years, times,
   ordinals, and 0 or 1 stay fixed: then any use of them, direct or hidden, stays correct.
2. Every literal of every ``<<expr=result>>`` step is traced to exactly one source: a quantity (as is,
   or as a percentage ``p/100``, ``1+p/100``, ``1-p/100``, ``100-p``), an earlier step's result, or a
   constant. A literal with two possible sources makes the item ambiguous; it is left out.
3. Safety checks leave the item out when a constant could be a quantity converted or combined by
   mental arithmetic (``2 dozen`` written as ``24``), when the solution text holds a number that no
   step, quantity or constant explains (an unannotated computation), when the final answer is not a
   step's result, or when the original steps do not re-execute exactly (GSM8K has rounded ones).

A twin (``instantiate``) draws each used quantity anew: same number of decimals, same roundness
(a multiple of 10, 50 or 5 stays one), within a factor of about two, percentages within 1..100; then
every step is recomputed with :class:`fractions.Fraction`. A draw is kept only if every result keeps
its kind (integer stays integer, non-negative stays non-negative, a finite decimal with at most two
places otherwise), stays within a plausible magnitude, and the final answer changes. The question and
the worked answer are rewritten, and ``check_solution`` re-parses the rewritten answer and re-executes
every step from its text alone, independently of how it was built.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from harness.contamination.arithmetic import Expression, ExpressionError, parse_expression, parse_number

_ANNOTATION = re.compile(r"<<([^<>]*?)=([^<>=]*?)>>")
_FINAL = re.compile(r"####\s*(.+?)\s*$")
_SHOWN_RESULT = re.compile(r"(\d[\d,]*(?:\.\d+)?)(?![\d:])")
# A number in running text: 80,000 / 16 / 2.50 / .5 — not glued to letters, digits or a colon on either side.
# Units may follow directly ("30mph"); ordinals ("4th") are not quantities.
_NUMBER = re.compile(
    r"(?:(?<=\d[x\u00d7])|(?<![\w.:,]))(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?!\d|:\d|,\d|\.\d|(?:st|nd|rd|th)\b)"
)
_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORD_NUMBER = re.compile(
    r"\b(?:("
    + "|".join(_TENS)
    + r")-(one|two|three|four|five|six|seven|eight|nine)|("
    + "|".join(sorted(_WORDS, key=len, reverse=True))
    + r"))\b",
    re.IGNORECASE,
)
_FRACTION_WORD = re.compile(
    r"-(?:halves|half|thirds?|quarters?|fourths?|fifths?|sixths?|eighths?|tenths?)\b", re.I
)
# Words that imply a number a solution may use without the question writing it.
_IMPLIED: tuple[tuple[str, tuple[int, ...]], ...] = (
    (r"half|halves|twice|double|doubled|doubles|pair|pairs|couple|both|second|two-|biweekly", (2,)),
    (r"third|thirds|triple|tripled|triples|thrice|yards?", (3,)),
    (r"quarters?|fourths?|quadruple[sd]?|gallons?|quarts?", (4, 25)),
    (r"fifths?|nickels?", (5,)),
    (r"sixths?|hexagon", (6,)),
    (r"eighths?|pints?|octagon|octopus|spider", (8,)),
    (r"tenths?|dimes?|decade", (10,)),
    (r"dozens?|feet|foot|inch|inches|months?|monthly|annual|year|years|yearly", (12,)),
    (r"pounds?|ounces?|cups?|gallons?", (16,)),
    (
        r"weeks?|weekly|days?|daily|hours?|hourly|minutes?|seconds?|months?|years?",
        (7, 24, 30, 52, 60, 365, 3600),
    ),
    (r"percent|%|cents?|dollars?|\$|meters?|centimeters?|century", (100,)),
    (r"miles?", (5280,)),
    (r"kilo\w*|grams?|thousand|liters?|milliliters?", (1000,)),
)
# Values that may be a unit conversion or a fixed rate: never changed, so any hidden use stays right.
UNIT_CONSTANTS = frozenset(Fraction(v) for v in (7, 12, 24, 30, 31, 52, 60, 100, 360, 365, 1000, 3600))
# Multipliers a solution may apply silently (dozen, week, hour, percent, ...) when checking constants.
_CONVERSIONS = (2, 3, 4, 7, 10, 12, 24, 52, 60, 100, 365, 1000)
_LARGE = (7, 12, 24, 52, 60, 100, 365, 1000)
# Constants every solution may use whatever the numbers (halves, percent factors).
_UNIVERSAL = frozenset({Fraction(0), Fraction(1), Fraction(2), Fraction(1, 2), Fraction(1, 100)})
MAX_DECIMALS = 2  # a twin's non-integer results are finite decimals with at most this many places
MAX_DRAWS = 200  # attempts per item before giving up on finding its twins


class TwinError(ValueError):
    """An item that cannot be re-instantiated safely; ``reason`` is a short category for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Quantity:
    """One number in the question: where it is, its value, how it is written, and whether it may change."""

    start: int
    end: int
    text: str
    value: Fraction
    word: bool  # written as a word ("three")
    percent: bool  # followed by % or "percent"
    decimals: int  # digits after the point as written
    commas: bool  # written with thousands separators
    fixed: str | None  # why it never changes (None: it may)


@dataclass(frozen=True)
class Source:
    """Where a step's literal comes from: a question value (``variable``), an earlier step, or a constant."""

    kind: str  # "variable" | "result" | "constant"
    key: Fraction | int | None  # the variable's original value, or the step index
    transform: str = "identity"  # for variables: identity | pct | one_plus_pct | one_minus_pct | complement
    # Other sources with the same original value: the literal could be any of them, so a twin keeps
    # the coincidence (all of them take equal values) and every reading of the literal stays right.
    ties: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Step:
    """One annotated computation of the worked answer."""

    line: int
    expression: Expression
    result: Fraction
    result_text: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Template:
    """What a twin keeps from its original item: the story, the steps and which numbers may change."""

    question: str
    answer: str
    quantities: tuple[Quantity, ...]
    variables: tuple[Fraction, ...]  # distinct original values of the quantities that change
    percent_variables: frozenset[Fraction]
    steps: tuple[Step, ...]
    final_step: int
    final: Fraction
    held: tuple[Fraction, ...] = ()  # numbers held at their original value because their use was unclear


@dataclass
class Twin:
    """One fresh instance: the new question and worked answer, and the values drawn for it."""

    question: str
    answer: str
    final: Fraction
    values: dict[str, str] = field(default_factory=dict)  # original value -> new value, as written

    def row(self) -> dict[str, Any]:
        """The twin in GSM8K's Hub schema (what lm-eval reads)."""
        return {"question": self.question, "answer": self.answer}


# ---------------------------------------------------------------------------------------------- parsing


def find_quantities(question: str) -> list[Quantity]:
    """The numbers of a question, in order, with why each one must stay fixed (if it must)."""
    found: list[Quantity] = []
    for m in _NUMBER.finditer(question):
        text = m.group(1)
        value = parse_number(text)
        after = question[m.end() : m.end() + 24].lower()
        before = question[max(0, m.start() - 1) : m.start()]
        percent = after.startswith("%") or after.lstrip().startswith("percent")
        decimals = len(text.split(".")[1]) if "." in text else 0
        fixed = _fixed_reason(value, text, before, after)
        found.append(Quantity(m.start(), m.end(), text, value, False, percent, decimals, "," in text, fixed))
    for m in _WORD_NUMBER.finditer(question):
        if _FRACTION_WORD.match(question, m.end()):  # "two-thirds": a fraction, read by implied_constants
            continue
        text = m.group(0)
        lower = text.lower()
        value = Fraction(_WORDS[m.group(1).lower()] + _WORDS[m.group(2).lower()]) if m.group(1) else None
        value = value if value is not None else Fraction(_WORDS[lower])
        after = question[m.end() : m.end() + 24].lower()
        percent = after.lstrip().startswith("percent")
        fixed = _fixed_reason(value, text, "", after)
        found.append(Quantity(m.start(), m.end(), text, value, True, percent, 0, False, fixed))
    return sorted(found, key=lambda q: q.start)


_BOUNDED = re.compile(
    r"\s*(?:days?\s+(?:a|per|each)\s+week|hours?\s+(?:a|per|each)\s+day|months?\s+(?:a|per|each)\s+year|"
    r"days?\s+(?:a|per|each)\s+month|minutes?\s+(?:an|per|each)\s+hour|weeks?\s+(?:a|per|each)\s+(?:month|year))"
)


def _fixed_reason(value: Fraction, text: str, before: str, after: str) -> str | None:
    if value <= 1:
        return "0 or 1"
    if _BOUNDED.match(after):  # "5 days a week" cannot become 10
        return "bounded by a unit"
    if re.fullmatch(r"(19|20)\d\d", text):
        return "year"
    if re.match(r"\s*(?:am|pm|a\.m|p\.m|o'clock)\b", after):
        return "time of day"
    if value in UNIT_CONSTANTS and not text.endswith("%"):
        return "possible unit constant"
    return None


def implied_constants(question: str) -> set[Fraction]:
    """Numbers the question's words imply ("half" 2, "dozen" 12, "two-thirds" 2 and 3, "week" 7)."""
    out: set[Fraction] = set()
    lower = question.lower()
    for pattern, values in _IMPLIED:
        if re.search(r"(?<![a-z])(?:" + pattern + r")(?![a-z])", lower):
            out.update(Fraction(v) for v in values)
    for m in _WORD_NUMBER.finditer(question):
        if _FRACTION_WORD.match(question, m.end()):
            out.add(Fraction(_WORDS[(m.group(3) or m.group(1)).lower()]))
    for v in list(out):
        out.add(1 / v)
    return out


def _percent_forms(v: Fraction) -> dict[str, Fraction]:
    return {
        "pct": v / 100,
        "one_plus_pct": 1 + v / 100,
        "one_minus_pct": 1 - v / 100,
        "complement": 100 - v,
    }


def apply_transform(transform: str, value: Fraction) -> Fraction:
    """A variable's value as a step uses it (``pct``: 150 -> 3/2)."""
    if transform == "identity":
        return value
    return _percent_forms(value)[transform]


class _Hold(TwinError):
    """A number whose use cannot be traced: derive again with it held at its original value."""

    def __init__(self, values: set[Fraction], reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.values = values


def extract_template(question: str, answer: str) -> Template:
    """The twin template of one GSM8K item, or TwinError saying why it cannot be derived safely.

    A question number whose use is ambiguous (``0.5`` could be 50% or 1-50%) or that a constant could
    hide (``0.25`` hours could be ``15/60``) is held at its original value and the derivation repeated:
    a held number never changes, so every reading of it stays right, and the item keeps its other numbers.
    """
    held: set[Fraction] = set()
    while True:
        try:
            return _extract(question, answer, frozenset(held))
        except _Hold as hold:
            if hold.values <= held:
                raise TwinError(hold.reason, hold.detail) from None
            held |= hold.values


def _extract(question: str, answer: str, held: frozenset[Fraction]) -> Template:
    final_match = _FINAL.search(answer.strip().splitlines()[-1]) if answer.strip() else None
    if final_match is None:
        raise TwinError("no final answer", "no '#### answer' line")
    try:
        final = parse_number(final_match.group(1).replace("$", "").strip())
    except (ValueError, ZeroDivisionError):
        raise TwinError("final answer not a number", final_match.group(1)) from None
    quantities = find_quantities(question)
    implied = implied_constants(question)
    # A question number equal to an implied one ("two days ... half as much") may be either: it stays.
    fixed_values = (
        {q.value for q in quantities if q.fixed} | held | {q.value for q in quantities if q.value in implied}
    )
    # Equal values in the question are one variable: a step cannot tell two 3s apart, so they stay equal.
    candidates = {q.value for q in quantities if q.fixed is None and q.value not in fixed_values}
    percent_values = {q.value for q in quantities if q.percent and q.value in candidates}
    written = {Fraction(x) for x in re.findall(r"\d+(?:\.\d+)?", question.replace(",", ""))}
    written |= {q.value for q in quantities}
    written -= candidates

    steps: list[Step] = []
    lines = answer.split("\n")
    for line_no, line in enumerate(lines):
        for m in _ANNOTATION.finditer(line):
            try:
                expr = parse_expression(m.group(1))
                result = parse_number(m.group(2).strip().replace("$", ""))
            except (ExpressionError, ValueError, ZeroDivisionError) as exc:
                raise TwinError("unparsable step", f"<<{m.group(1)}={m.group(2)}>>: {exc}") from None
            if expr.value != result:
                raise TwinError(
                    "original step inexact", f"<<{m.group(1)}={m.group(2)}>> evaluates to {_fmt(expr.value)}"
                )
            sources = tuple(
                _trace(lit.value, candidates, percent_values, written, steps, m.group(0))
                for lit in expr.literals
            )
            steps.append(Step(line_no, expr, result, m.group(2).strip(), sources))
    if not steps:
        raise TwinError("no annotated steps", "the worked answer has no <<...>> computation")
    final_steps = [i for i, s in enumerate(steps) if s.result == final]
    if not final_steps:
        raise TwinError("final answer not a step result", f"#### {final_match.group(1)}")
    used = sorted(
        {Fraction(x.key) for st in steps for s in st.sources for x in (s, *s.ties) if x.kind == "variable"}  # type: ignore[arg-type]
    )
    if not used:
        raise TwinError("no changeable number", "no step uses a question number that may change")
    template = Template(
        question=question,
        answer=answer,
        quantities=tuple(quantities),
        variables=tuple(used),
        percent_variables=frozenset(v for v in percent_values if v in used),
        steps=tuple(steps),
        final_step=final_steps[-1],
        final=final,
        held=tuple(sorted(held)),
    )
    _check_constants(template, implied)
    _check_occurrences(template)
    _check_unit_products(template, implied)
    _check_solution_text(template)
    return template


def _trace(
    value: Fraction,
    variables: set[Fraction],
    percents: set[Fraction],
    written: set[Fraction],
    steps: list[Step],
    where: str,
) -> Source:
    """The source a literal comes from (see the module docstring), with the others it could be."""
    found: list[Source] = []
    if value in variables:
        found.append(Source("variable", value))
    for v in sorted(percents):
        for transform, form in _percent_forms(v).items():
            if form == value and form != v:
                found.append(Source("variable", v, transform))
    results = [i for i, s in enumerate(steps) if s.result == value]
    if not results:
        if found and value in written:  # "20 questions" next to "80%" read as 100-80: hold the percentage
            raise _Hold(
                {Fraction(s.key) for s in found},  # type: ignore[arg-type]
                "ambiguous number",
                f"{_fmt(value)} in {where} is written in the question and could be a changing number",
            )
        if len(found) > 1:  # one question number read two ways (0.5: 50% or 1-50%): hold them
            raise _Hold(
                {Fraction(s.key) for s in found},  # type: ignore[arg-type]
                "ambiguous number",
                f"{_fmt(value)} in {where} could be any of {sorted(s.transform + ' of ' + _fmt(s.key) for s in found)}",
            )
        return found[0] if found else Source("constant", value)
    # Worked answers chain their steps, so the latest equal result is the likeliest reading; every other
    # reading (an earlier equal result, a question number) becomes a tie the twin must keep.
    ties = [Source("result", i) for i in results[:-1]] + found
    if value in written and not found:
        ties.append(Source("constant", value))
    return Source("result", results[-1], ties=tuple(ties))


def _check_constants(t: Template, implied: set[Fraction]) -> None:
    """Every constant of a step must be explained (by the question's text, a unit or a universal
    constant); a changing number that an explained constant could be, converted, is held."""
    fixed = {q.value for q in t.quantities if q.fixed} | set(t.held)
    unchanged = {q.value for q in t.quantities if q.value not in t.variables}
    # Numbers written in the question that are not quantities ("1:00 PM", "a ratio of 7:11") never change.
    written = {Fraction(x) for x in re.findall(r"\d+(?:\.\d+)?", t.question.replace(",", ""))} - set(
        t.variables
    )
    # A unit constant explains a literal only when the question's words call for that unit (7 with
    # "week"): "24 green squares" computed in the text, then summed, is not 24 hours.
    explained = set(_UNIVERSAL) | implied | unchanged | written
    explained |= {
        f
        for q in t.quantities
        if q.percent and q.value in unchanged
        for f in _percent_forms(q.value).values()
    }
    conversions: dict[Fraction, tuple[str, set[Fraction]]] = {}
    combinations: dict[Fraction, tuple[str, set[Fraction]]] = {}
    for a in t.variables:
        for k in _CONVERSIONS:
            conversions.setdefault(a * k, (f"{_fmt(a)}*{k}", {a}))
            conversions.setdefault(a / k, (f"{_fmt(a)}/{k}", {a}))
        for b in t.variables:
            if b == a:
                continue
            combinations.setdefault(a * b, (f"{_fmt(a)}*{_fmt(b)}", {a, b}))
            combinations.setdefault(a + b, (f"{_fmt(a)}+{_fmt(b)}", {a, b}))
            if a > b:
                combinations.setdefault(a - b, (f"{_fmt(a)}-{_fmt(b)}", {a, b}))
            combinations.setdefault(a / b, (f"{_fmt(a)}/{_fmt(b)}", {a, b}))
    # A question number no step uses may still be tied to the others ("invited 16 people. 10 want
    # chicken and 6 want pasta"): if it is their sum, product or difference, they are held.
    for q in t.quantities:
        if q.fixed is None and q.value not in t.variables and q.value not in fixed:
            hit = combinations.get(q.value)
            if hit is not None:
                raise _Hold(hit[1], "question numbers tied by an unstated relation", f"{q.text} = {hit[0]}")
    for step in t.steps:
        for src in step.sources:
            if src.kind != "constant":
                continue
            c = Fraction(src.key)  # type: ignore[arg-type]
            if c in fixed or c in _UNIVERSAL:
                continue
            hit = conversions.get(c)
            # A unit constant (7 days, 12 inches) is read as that unit, unless it is a changing number
            # converted by a large factor (2 feet -> 24 inches); any other constant the question does not
            # explain must be a changing number converted or combined (15 minutes -> 0.25 hours), which
            # is then held, or the item is left out.
            if c in explained and c in implied:
                if hit is not None and int(re.split(r"[*/]", hit[0])[-1]) in _LARGE:
                    raise _Hold(hit[1], "constant may hide a question number", f"{_fmt(c)} could be {hit[0]}")
                continue
            hit = hit or combinations.get(c)
            if hit is not None:
                raise _Hold(
                    hit[1],
                    "constant may hide a question number",
                    f"{_fmt(c)} in <<{step.expression.text}>> could be {hit[0]}",
                )
            if c not in explained:
                raise TwinError(
                    "unexplained constant",
                    f"{_fmt(c)} in <<{step.expression.text}>> is neither in the question nor a known unit "
                    "(an unannotated computation?)",
                )


def _check_solution_text(t: Template) -> None:
    """Every number in the solution's running text must be one we can rewrite or may leave alone."""
    # Fixed numbers and question numbers no step uses keep their value, so the text may repeat them.
    known = set(t.variables) | {s.result for s in t.steps} | {q.value for q in t.quantities}
    known |= {Fraction(src.key) for st in t.steps for src in st.sources if src.kind == "constant"}  # type: ignore[arg-type]
    known |= {
        apply_transform(src.transform, Fraction(src.key))
        for st in t.steps
        for src in st.sources
        if src.kind == "variable"
    }  # type: ignore[arg-type]
    question_words = {_word_value(m) for m in _WORD_NUMBER.finditer(t.question)}
    changing = set(t.variables) | {s.result for s in t.steps}
    for line in t.answer.split("\n")[:-1]:
        marked = _ANNOTATION.sub("\u00a7", line)
        # "36-2=7 rabbits" with no <<...>>: a computation the twin cannot redo.
        if re.search(r"=\s*\$?\s*\d", marked):
            raise TwinError("unannotated computation in the solution", line.strip()[:80])
        prose = _ANNOTATION.sub(" ", line)
        spans = {m.span(1) for m in _NUMBER.finditer(prose)}
        for m in re.finditer(r"\d+(?:\.\d+)?", prose):
            if not any(a <= m.start() < b for a, b in spans) and Fraction(m.group(0)) in changing:
                raise TwinError(
                    "number glued to text in the solution", f"{m.group(0)} in {line.strip()[:80]!r}"
                )
        for m in _NUMBER.finditer(prose):
            value = parse_number(m.group(1))
            if value <= 1 or value in known:
                continue
            raise TwinError("unannotated number in the solution", f"{m.group(1)} in {line.strip()[:80]!r}")
        # A number word in the solution that the question only wrote in digits may count something
        # else ("3 pounds of candy" ... "there are three of them"): that value is held.
        for m in _WORD_NUMBER.finditer(prose):
            if _FRACTION_WORD.match(prose, m.end()):
                continue
            value = _word_value(m)
            if value in t.variables and value not in question_words:
                raise _Hold(
                    {value}, "number word in the solution", f"{m.group(0)!r} in {line.strip()[:80]!r}"
                )


def _word_value(m: re.Match[str]) -> Fraction:
    tens, unit, single = m.group(1), m.group(2), m.group(3)
    return Fraction(_WORDS[tens.lower()] + _WORDS[unit.lower()]) if tens else Fraction(_WORDS[single.lower()])


def _check_occurrences(t: Template) -> None:
    """Hold a number the question writes more often than the steps use it ("three times that number"
    ... "after all three days"): the unused occurrence may count something else."""
    uses: Counter[Fraction] = Counter()
    for step in t.steps:
        for src in step.sources:
            for x in (src, *src.ties):
                if x.kind == "variable" and x.transform == "identity":
                    uses[Fraction(x.key)] += 1  # type: ignore[arg-type]
    written = Counter(q.value for q in t.quantities)
    for v in t.variables:
        if v not in t.percent_variables and uses[v] < written[v]:
            raise _Hold(
                {v}, "number written more often than used", f"{_fmt(v)}: {written[v]} times, used {uses[v]}"
            )


def _check_unit_products(t: Template, implied: set[Fraction]) -> None:
    """Hold a changing number that a written number times an implied unit could be ("14 days" in a
    question that also says "two weeks"): changing it alone would contradict the text."""
    written = {q.value for q in t.quantities if q.value > 1} | {
        Fraction(x) for x in re.findall(r"\d+(?:\.\d+)?", t.question.replace(",", ""))
    }
    units = {u for u in implied if u.denominator == 1 and int(u) in _LARGE}
    for v in t.variables:
        for a in written:
            if a == v:
                continue
            for u in units:
                if a * u == v:
                    raise _Hold({v}, "number fixed by the text", f"{_fmt(v)} = {_fmt(a)} x {_fmt(u)}")


# ------------------------------------------------------------------------------------------ instantiation


def instantiate(t: Template, rng: np.random.Generator, k: int, max_draws: int = MAX_DRAWS) -> list[Twin]:
    """``k`` distinct twins of a template (distinct from the original and from each other)."""
    twins: list[Twin] = []
    seen: set[tuple[Fraction, ...]] = {tuple(t.variables)}
    reasons: Counter[str] = Counter()
    for _ in range(max_draws):
        if len(twins) == k:
            break
        values = tuple(draw_value(v, v in t.percent_variables, rng) for v in t.variables)
        if values in seen:
            reasons["repeat"] += 1
            continue
        seen.add(values)
        try:
            twin = _build(t, dict(zip(t.variables, values, strict=True)))
        except TwinError as exc:
            reasons[exc.reason] += 1
            continue
        problems = check_solution(twin.question, twin.answer)
        if problems:  # never expected: the builder and the check disagree; the draw is not used
            reasons["failed re-execution"] += 1
            continue
        twins.append(twin)
    if len(twins) < k:
        common = ", ".join(f"{r} x{n}" for r, n in reasons.most_common(2))
        raise TwinError(
            "no valid numbers found", f"{len(twins)} of {k} twins after {max_draws} draws ({common})"
        )
    return twins


def draw_value(v: Fraction, percent: bool, rng: np.random.Generator) -> Fraction:
    """A new value like ``v``: same decimals, same roundness, within about a factor of two."""
    decimals = _decimals(v)
    scale = 10**decimals
    m = int(v * scale)
    grain = 1
    while m % (grain * 10) == 0 and m // (grain * 10) >= 1:
        grain *= 10
    if (m // grain) % 5 == 0 and m // grain >= 5:
        grain *= 5
    elif (m // grain) % 2 == 0 and grain > 1:
        grain *= 2
    if percent and v <= 100:  # a percentage stays within 1..100, in steps of 5 if it was a multiple of 5
        grain = 5 * scale if m % (5 * scale) == 0 else 1
    units = m // grain
    lo, hi = max(1, math.ceil(units / 2)), max(units * 2, units + 4)
    if percent and v <= 100:
        hi = min(hi, (100 * scale) // grain)
    if grain == 1 and decimals == 0:
        lo = max(lo, 2)  # never turn a count into 0 or 1 ("1 apples")
    if hi < lo:
        return v  # no other value of this kind: the draw repeats the original and is not used
    new_units = int(rng.integers(lo, hi + 1))
    return Fraction(new_units * grain, scale)


def _decimals(v: Fraction) -> int:
    for d in range(0, 7):
        if (v * 10**d).denominator == 1:
            return d
    raise TwinError("not a decimal", str(v))


def _build(t: Template, new: dict[Fraction, Fraction]) -> Twin:
    results: list[Fraction] = []
    literal_values: list[list[Fraction]] = []
    for step in t.steps:
        values = []
        for lit, src in zip(step.expression.literals, step.sources, strict=True):
            value = _source_value(src, lit.value, new, results)
            for tie in src.ties:
                if _source_value(tie, lit.value, new, results) != value:
                    raise TwinError("coincidence not kept", f"{lit.text} in <<{step.expression.text}>>")
            values.append(value)
        try:
            result = step.expression.evaluate(values)
        except ExpressionError as exc:
            raise TwinError("division by zero", str(exc)) from None
        _check_result(step.result, result)
        results.append(result)
        literal_values.append(values)
    final = results[t.final_step]
    if final == t.final:
        raise TwinError("final answer unchanged", _fmt(final))
    if t.final.denominator == 1 and final.denominator != 1:
        raise TwinError("final answer not an integer", _fmt(final))

    # Old value -> new value, for the running text: each step's own numbers first, then the rest.
    global_map: dict[Fraction, Fraction] = {}
    conflicts: set[Fraction] = set()

    def put(mapping: dict[Fraction, Fraction], old: Fraction, value: Fraction) -> None:
        if old in mapping and mapping[old] != value:
            conflicts.add(old)
        mapping.setdefault(old, value)

    for old, value in new.items():
        put(global_map, old, value)
        if old in t.percent_variables:  # "20% off" restated in the text as ".20*30"
            put(global_map, old / 100, value / 100)
    for i, step in enumerate(t.steps):
        put(global_map, step.result, results[i])
        for lit, value in zip(step.expression.literals, literal_values[i], strict=True):
            put(global_map, lit.value, value)

    question = _rewrite_question(t, new)
    lines = t.answer.split("\n")
    by_line: dict[int, list[int]] = {}
    for i, step in enumerate(t.steps):
        by_line.setdefault(step.line, []).append(i)
    out_lines = []
    for line_no, line in enumerate(lines[:-1]):
        indices = by_line.get(line_no, [])
        pieces, last = [], 0
        for m, i in zip(_ANNOTATION.finditer(line), indices, strict=True):
            step = t.steps[i]
            # The text before a step restates its expression ("20 - 10 = $<<20-10=10>>"): its numbers are
            # the step's own literals first; the number right after the step is its result.
            local: dict[Fraction, Fraction] = {}
            for lit, value in zip(step.expression.literals, literal_values[i], strict=True):
                local.setdefault(lit.value, value)
            pieces.append(_rewrite_prose(line[last : m.start()], local, global_map, conflicts, new))
            texts = [
                _format_like(lit.text, value)
                for lit, value in zip(step.expression.literals, literal_values[i], strict=True)
            ]
            pieces.append(f"<<{step.expression.render(texts)}={_format_like(step.result_text, results[i])}>>")
            last = m.end()
            shown = _SHOWN_RESULT.match(line, last)
            if shown:
                pieces.append(_format_like(shown.group(1), results[i]))
                last = shown.end()
        tail = {t.steps[i].result: results[i] for i in indices}
        pieces.append(_rewrite_prose(line[last:], tail, global_map, conflicts, new))
        out_lines.append("".join(pieces))
    out_lines.append(f"#### {_format_plain(final)}")
    answer = "\n".join(out_lines)
    values = {_fmt(old): _fmt(v) for old, v in new.items()}
    return Twin(question=question, answer=answer, final=final, values=values)


def _source_value(
    src: Source, original: Fraction, new: dict[Fraction, Fraction], results: list[Fraction]
) -> Fraction:
    if src.kind == "variable":
        return apply_transform(src.transform, new[Fraction(src.key)])  # type: ignore[arg-type]
    if src.kind == "result":
        return results[int(src.key)]  # type: ignore[arg-type]
    return original


def _check_result(old: Fraction, new: Fraction) -> None:
    if old >= 0 and new < 0:
        raise TwinError("negative result", _fmt(new))
    if old > 0 and new == 0:
        raise TwinError("zero result", _fmt(new))
    if old.denominator == 1 and new.denominator != 1:
        raise TwinError("non-integer result", _fmt(new))
    if new.denominator != 1 and not _finite_decimal(new, max(MAX_DECIMALS, _decimals_or(old, 0))):
        raise TwinError("long decimal result", _fmt(new))
    bound = max(abs(old) * 20, Fraction(20))
    if abs(new) > bound or (old != 0 and abs(new) < abs(old) / 50):
        raise TwinError("implausible magnitude", f"{_fmt(old)} -> {_fmt(new)}")


def _decimals_or(v: Fraction, default: int) -> int:
    try:
        return _decimals(v)
    except TwinError:
        return default


def _finite_decimal(v: Fraction, places: int) -> bool:
    return (v * 10**places).denominator == 1


def _rewrite_question(t: Template, new: dict[Fraction, Fraction]) -> str:
    out, last = [], 0
    for q in t.quantities:
        if q.fixed is not None or q.value not in new:
            continue
        out.append(t.question[last : q.start])
        value = new[q.value]
        out.append(_spell_like(q.text, value) if q.word else _format_like(q.text, value))
        last = q.end
    out.append(t.question[last:])
    return "".join(out)


def _rewrite_prose(
    text: str,
    local: dict[Fraction, Fraction],
    global_map: dict[Fraction, Fraction],
    conflicts: set[Fraction],
    words: dict[Fraction, Fraction] | None = None,
) -> str:
    """Numbers of a solution's running text, rewritten: digits by the step's own numbers first, then
    every changed number and result; number words ("three times") only when a question number changed."""

    def sub(m: re.Match[str]) -> str:
        old = parse_number(m.group(1))
        if old in local:
            return _format_like(m.group(1), local[old])
        if old in global_map and old not in (0, 1):  # "12 inches in 1 foot": 0 and 1 are never rewritten
            if old in conflicts:
                raise TwinError("ambiguous number in the solution", f"{m.group(1)} maps to several values")
            return _format_like(m.group(1), global_map[old])
        return m.group(1)

    def sub_word(m: re.Match[str]) -> str:
        if _FRACTION_WORD.match(text, m.end()):
            return m.group(0)
        tens, unit, single = m.group(1), m.group(2), m.group(3)
        old = (
            Fraction(_WORDS[tens.lower()] + _WORDS[unit.lower()])
            if tens
            else Fraction(_WORDS[single.lower()])
        )
        if words and old in words:
            return _spell_like(m.group(0), words[old])
        return m.group(0)

    return _WORD_NUMBER.sub(sub_word, _NUMBER.sub(sub, text))


# ---------------------------------------------------------------------------------------------- formatting


def _fmt(v: Fraction | int | None) -> str:
    if v is None:
        return "None"
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    for d in range(1, 7):
        if (v * 10**d).denominator == 1:
            return f"{float(v):.{d}f}"
    return f"{v.numerator}/{v.denominator}"


def _format_plain(v: Fraction) -> str:
    return _fmt(v)


def _format_like(old_text: str, v: Fraction) -> str:
    """``v`` written the way ``old_text`` was: thousands separators, and two decimals for money."""
    old_decimals = len(old_text.split(".")[1]) if "." in old_text else 0
    if v.denominator == 1 and old_decimals != 2:
        body = str(v.numerator)
    else:
        places = 2 if old_decimals == 2 else next(d for d in range(1, 7) if (v * 10**d).denominator == 1)
        if (v * 10**places).denominator != 1:
            raise TwinError("long decimal result", _fmt(v))
        body = f"{float(v):.{places}f}"
    if "," in old_text:
        whole, _, frac = body.partition(".")
        sign = "-" if whole.startswith("-") else ""
        whole = f"{int(whole.lstrip('-')):,}"
        body = sign + whole + ("." + frac if frac else "")
    if old_text.startswith(".") and body.startswith("0."):
        body = body[1:]
    return body


_UNITS_WORDS = [w for w, v in sorted(_WORDS.items(), key=lambda kv: kv[1]) if v < 20]


def _spell_like(old_text: str, v: Fraction) -> str:
    """A number word for ``v`` (digits when it has none), capitalised like ``old_text``."""
    if v.denominator != 1 or not 0 <= v < 100:
        return _format_like("0", v)
    n = int(v)
    if n < 20:
        word = _UNITS_WORDS[n]
    else:
        tens = _TENS[n // 10 - 2]
        word = tens if n % 10 == 0 else f"{tens}-{_UNITS_WORDS[n % 10]}"
    return word.capitalize() if old_text[:1].isupper() else word


# ---------------------------------------------------------------------------------------------- checking


def check_solution(question: str, answer: str) -> list[str]:
    """Problems with a worked answer, read from its text alone (empty list: it checks out).

    Every ``<<expr=result>>`` is re-executed exactly; the final ``####`` answer must be an integer and
    equal a step's result; results must be non-negative. Used on every twin, independently of the
    code that built it.
    """
    problems = []
    results = []
    for m in _ANNOTATION.finditer(answer):
        try:
            value = parse_expression(m.group(1)).value
            stated = parse_number(m.group(2).strip())
        except (ExpressionError, ValueError, ZeroDivisionError) as exc:
            problems.append(f"<<{m.group(1)}={m.group(2)}>> does not parse: {exc}")
            continue
        if value != stated:
            problems.append(f"<<{m.group(1)}={m.group(2)}>> evaluates to {_fmt(value)}")
        if value < 0:
            problems.append(f"<<{m.group(1)}={m.group(2)}>> is negative")
        # GSM8K writes the result again right after the annotation ("<<48/2=24>>24"): it must agree.
        shown = re.match(r"\$?(\d[\d,]*(?:\.\d+)?)", answer[m.end() :])
        if shown and parse_number(shown.group(1)) != stated:
            problems.append(f"<<{m.group(1)}={m.group(2)}>> is followed by {shown.group(1)}")
        results.append(value)
    final_match = _FINAL.search(answer.strip().splitlines()[-1]) if answer.strip() else None
    if final_match is None:
        return [*problems, "no final answer"]
    try:
        final = parse_number(final_match.group(1))
    except (ValueError, ZeroDivisionError):
        return [*problems, f"final answer {final_match.group(1)!r} is not a number"]
    if final.denominator != 1:
        problems.append(f"final answer {final_match.group(1)} is not an integer")
    if final not in results:
        problems.append(f"final answer {final_match.group(1)} is no step's result")
    if not question.strip():
        problems.append("empty question")
    return problems
