"""The probe pool: texts generated from templates and word lists, drawn with a seed.

Why generated rather than a fixed list: a fixed public list can be special-cased by a provider (answer
those exact prompts from the real model, everything else from a cheaper one). Every run draws fresh
items with its ``--seed`` (recorded), from a space of more than 10^12 items per kind, so no list of
answers can cover it. No text comes from a benchmark: the word lists and templates below are written
for this module (ordinary vocabulary, invented names, invented numbers), so an endpoint's model cannot
have been tuned on them as test items.

Kinds (each item is a pure function of ``(kind, seed, index)``):

* ``vendor``: a natural paragraph that names AI vendors and models (echo check).
* ``natural``: a short paragraph in one of several registers (story, explanation, letter, recipe,
  dialogue, news, code, JSON record, invoice, or a text naming AI vendors and models), for the
  log-probability test and the echo check.
* ``prompt``: an open prompt for greedy continuation (completions) or a one-line request (chat).
* ``copy``: a copy-list prompt mixing vendor/model names with ordinary words (output filtering).
* ``count``: strings that tokenizers split differently (token accounting).
* ``cut``: short strings the model is asked to repeat (output tokenisation).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

POOL_VERSION = 3

VENDOR_WORDS: tuple[str, ...] = (
    "OpenAI",
    "Anthropic",
    "Claude",
    "ChatGPT",
    "GPT-4",
    "Google",
    "Gemini",
    "Meta",
    "Llama",
    "Mistral",
    "Qwen",
    "DeepSeek",
    "Hugging Face",
    "SmolLM",
)
# The names a relay is most likely to filter get drawn more often in copy lists.
PRIORITY_VENDORS: tuple[str, ...] = ("Claude", "Anthropic", "OpenAI", "ChatGPT", "GPT-4", "Llama")

_NAMES = (
    "Amara", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Keiko",
    "Lars", "Maya", "Nico", "Olga", "Pavel", "Quinn", "Rosa", "Samir", "Tova", "Umar", "Vera", "Wen",
    "Xavier", "Yara", "Zoltan", "Priya", "Tomas", "Aiko", "Luca", "Nadia", "Oscar",
)  # fmt: skip
_PLACES = (
    "the harbour", "the old mill", "the station", "the market square", "the library", "the bakery",
    "the river bank", "the hill above the town", "the school yard", "the bridge", "the museum",
    "the garden behind the house", "the train platform", "the workshop", "the lighthouse", "the orchard",
)  # fmt: skip
_OBJECTS = (
    "a wooden box", "an old map", "a blue umbrella", "a bicycle", "a letter", "a brass key",
    "a basket of apples", "a broken clock", "a small radio", "a paper kite", "a leather notebook",
    "a jar of honey", "a violin case", "a pair of boots", "a lantern", "a telescope",
)  # fmt: skip
_TIMES = (
    "early in the morning", "after lunch", "late at night", "on a rainy afternoon", "at dawn",
    "just before sunset", "on the first day of spring", "in the middle of winter", "last Tuesday",
    "on a quiet Sunday", "during the summer holidays", "one cold evening",
)  # fmt: skip
_FEELINGS = ("surprised", "tired", "curious", "happy", "worried", "calm", "impatient", "proud")
_TOPICS = (
    ("volcanoes", "molten rock rises from deep below the surface and erupts through weak points in the crust"),
    ("tides", "the gravity of the moon and the sun pulls on the oceans and raises and lowers the sea"),
    ("rainbows", "sunlight is bent and reflected inside raindrops, which splits it into its colours"),
    ("vaccines", "a harmless piece of a germ trains the immune system to recognise the real one"),
    ("bridges", "the weight of the road is carried through beams, arches or cables to the ground"),
    ("batteries", "a chemical reaction moves electrons from one material to another through a circuit"),
    ("bread", "yeast eats sugar in the dough and releases gas that makes the loaf rise"),
    ("glaciers", "snow piles up over many years, turns into ice and slowly flows downhill"),
    ("compasses", "a magnetised needle lines up with the magnetic field of the earth"),
    ("seasons", "the tilt of the earth changes how directly sunlight reaches each hemisphere"),
    ("thunder", "lightning heats the air so quickly that it expands with a loud crack"),
    ("fermentation", "microbes break down sugars without oxygen and produce acids, gas or alcohol"),
)  # fmt: skip
_FOODS = ("lentil soup", "apple cake", "vegetable curry", "potato salad", "tomato sauce", "rice pudding",
          "onion tart", "bean stew", "pancakes", "carrot bread")  # fmt: skip
_INGREDIENTS = ("two onions", "three carrots", "a cup of rice", "four eggs", "a spoon of butter",
                "a pinch of salt", "two cloves of garlic", "a glass of milk", "a handful of herbs",
                "half a lemon", "a can of beans", "two cups of flour")  # fmt: skip
_NOUNS = ("apple", "table", "river", "window", "pencil", "garden", "ladder", "silver", "copper", "violin",
          "cloud", "stone", "honey", "tiger", "maple", "spoon", "bottle", "lamp", "chair", "paper",
          "candle", "basket", "mirror", "button", "feather", "blanket")  # fmt: skip
_CITIES = ("Paris", "Berlin", "Lisbon", "Oslo", "Cairo", "Lima", "Seoul", "Dublin", "Vienna", "Quito")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NUMWORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve")
_VERBS = ("count", "sort", "merge", "filter", "parse", "score", "scale", "clean", "group", "rank")
_VARS = ("items", "values", "records", "rows", "scores", "names", "prices", "points", "words", "files")
_ADJ = ("quiet", "bright", "narrow", "ancient", "busy", "gentle", "strange", "empty", "crowded", "warm")

_COPY_EXAMPLE = ("red", "London", "orange", "Monday", "blue", "ten")


def _rng(kind: str, seed: int, index: int) -> random.Random:
    digest = hashlib.sha256(f"harness-pool-v{POOL_VERSION}:{kind}:{seed}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# ------------------------------------------------------------------------------ natural ----


def _story(r: random.Random) -> str:
    a, b = r.sample(_NAMES, 2)
    return (
        f"{a} walked to {r.choice(_PLACES)} {r.choice(_TIMES)}, carrying {r.choice(_OBJECTS)}. "
        f'{b} was already waiting there and looked {r.choice(_FEELINGS)}. "You are late," {b} said, '
        f"and {a} laughed, because it was the {r.choice(_NUMWORDS)}th time this week. Together they "
        f"set off towards {r.choice(_PLACES)}, talking about {r.choice(_OBJECTS)} they had found years ago."
    )


def _explanation(r: random.Random) -> str:
    topic, how = r.choice(_TOPICS)
    return (
        f"How do {topic} work? In short, {how}. Scientists have studied {topic} for a long time, and "
        f"the basic idea is simple even if the details are not. A good way to remember it is to picture "
        f"{r.choice(_OBJECTS)} and imagine what would happen to it {r.choice(_TIMES)}."
    )


def _letter(r: random.Random) -> str:
    a, b = r.sample(_NAMES, 2)
    n = r.randint(2, 28)
    return (
        f"Dear {a},\n\nThank you for your message of {r.choice(_DAYS)} the {n}th. I am pleased to tell "
        f"you that the meeting at {r.choice(_PLACES)} will go ahead as planned, and that {r.randint(3, 40)} "
        f"people have already signed up. Please bring {r.choice(_OBJECTS)} if you can.\n\nKind regards,\n{b}"
    )


def _recipe(r: random.Random) -> str:
    food = r.choice(_FOODS)
    ing = r.sample(_INGREDIENTS, 3)
    return (
        f"To make {food}, start with {ing[0]}, {ing[1]} and {ing[2]}. Heat a large pan, add the first "
        f"two and cook them gently for {r.randint(3, 15)} minutes. Then add the rest, stir well and let "
        f"it simmer for another {r.randint(10, 40)} minutes before serving."
    )


def _dialogue(r: random.Random) -> str:
    a, b = r.sample(_NAMES, 2)
    return (
        f"{a}: Have you seen {r.choice(_OBJECTS)}? I left it near {r.choice(_PLACES)}.\n"
        f"{b}: I think so. It was there {r.choice(_TIMES)}, next to {r.choice(_OBJECTS)}.\n"
        f"{a}: Thanks. I will go and look for it now.\n{b}: Take an umbrella, it looks like rain."
    )


def _news(r: random.Random) -> str:
    city = r.choice(_CITIES)
    n = r.randint(12, 950)
    return (
        f"The city council of {city} voted on {r.choice(_DAYS)} to open a new public library near "
        f"{r.choice(_PLACES)}. The project will cost about {n} thousand euros and is expected to be "
        f"finished within {r.randint(2, 5)} years, the mayor said, adding that residents had asked for it "
        f"for a long time."
    )


def _code(r: random.Random) -> str:
    verb, var = r.choice(_VERBS), r.choice(_VARS)
    k = r.randint(2, 9)
    return (
        f"def {verb}_{var}({var}, limit={k}):\n"
        f'    """Return the first {k} {var} after we {verb} them."""\n'
        f"    result = []\n"
        f"    for item in sorted({var}):\n"
        f"        if len(result) >= limit:\n"
        f"            break\n"
        f"        result.append(item)\n"
        f"    return result\n"
    )


def _json(r: random.Random) -> str:
    name = r.choice(_NAMES)
    return (
        f'{{"name": "{name}", "age": {r.randint(18, 80)}, "city": "{r.choice(_CITIES)}", '
        f'"tags": ["{r.choice(_NOUNS)}", "{r.choice(_NOUNS)}"], "active": {r.choice(["true", "false"])}}}'
    )


def _invoice(r: random.Random) -> str:
    items = r.sample(_NOUNS, 3)
    prices = [r.randint(100, 4999) / 100 for _ in items]
    lines = ", ".join(f"a {i} at {p:.2f}" for i, p in zip(items, prices, strict=True))
    return (
        f"The invoice lists three items: {lines}. The total before tax is {sum(prices):.2f}, and "
        f"payment is due within {r.choice((14, 30, 60))} days."
    )


def _vendors(r: random.Random) -> str:
    v = r.sample(VENDOR_WORDS, 4)
    return (
        f"Assistants built by {v[0]} and {v[1]} are often compared with models such as {v[2]} and {v[3]}. "
        f"In a small test at {r.choice(_PLACES)}, {r.choice(_NAMES)} asked each of them to summarise "
        f"{r.choice(_OBJECTS)} and found that the answers differed mostly in length."
    )


_NATURAL = (
    _story, _explanation, _letter, _recipe, _dialogue, _news, _code, _json, _invoice, _vendors, _vendors,
)  # fmt: skip


# ------------------------------------------------------------------------------ prompts ----

_PROMPT_TEMPLATES = (
    "Here is a short story about {name} and {object}:\n",
    "The best thing about {place} {time} is",
    "A simple explanation of {topic}: ",
    "Shopping list for {food}: {ing0}, {ing1},",
    "def {verb}_{var}({var}):\n    ",
    "{name} opened the door and saw",
    "Dear {name},\n\nI am writing to tell you that",
    "The days of the week are Monday, Tuesday,",
    "Three facts about {topic}:\n1.",
    "Q: What did {name} find near {place}?\nA:",
    "The train from {city} to {city2} leaves at",
    "In {city}, people like to",
)
_CHAT_TEMPLATES = (
    "Write one sentence about {topic}.",
    "Describe {place} {time} in two sentences.",
    "List three things {name} could do with {object}.",
    "Explain in one sentence what happens with {topic}.",
    "Give me a short recipe idea using {ing0} and {ing1}.",
    "Write a Python function called {verb}_{var} in three lines.",
    "Tell a very short story about {name} in {city}.",
    "What is a good name for a cat that lives near {place}?",
)


def _context(r: random.Random) -> str:
    """A short opening that sets a scene (multiplies the prompt space by 10^3 for a few tokens)."""
    return f"{r.choice(_NAMES)} is at {r.choice(_PLACES)} {r.choice(_TIMES)}."


def _fill(template: str, r: random.Random) -> str:
    topic, _ = r.choice(_TOPICS)
    ing = r.sample(_INGREDIENTS, 2)
    c1, c2 = r.sample(_CITIES, 2)
    return template.format(
        name=r.choice(_NAMES),
        object=r.choice(_OBJECTS),
        place=r.choice(_PLACES),
        time=r.choice(_TIMES),
        topic=topic,
        food=r.choice(_FOODS),
        ing0=ing[0],
        ing1=ing[1],
        verb=r.choice(_VERBS),
        var=r.choice(_VARS),
        city=c1,
        city2=c2,
    )


# --------------------------------------------------------------------------------- copy ----


def copy_items(r: random.Random, must_include: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Six list items: two vendor/model names (``must_include`` first) among four ordinary words."""
    vendors = list(must_include[:2])
    while len(vendors) < 2:
        pick = r.choice(PRIORITY_VENDORS if r.random() < 0.6 else VENDOR_WORDS)
        if pick not in vendors:
            vendors.append(pick)
    words = r.sample(_NOUNS + _CITIES + _DAYS, 4)
    slots = r.sample(range(1, 6), 2)  # never first: the copy must be under way when a name comes
    items: list[str] = []
    it = iter(words)
    for i in range(6):
        items.append(vendors[slots.index(i)] if i in slots else next(it))
    return tuple(items)


def copy_prompt(items: tuple[str, ...]) -> str:
    ex = ", ".join(_COPY_EXAMPLE)
    return f"Copy each list exactly.\nList: {ex}\nCopy: {ex}\nList: {', '.join(items)}\nCopy:"


def copy_chat_prompt(items: tuple[str, ...]) -> str:
    return f"Copy this list exactly, and output nothing else: {', '.join(items)}"


# ---------------------------------------------------------------------- tokenizer probes ----

_SCRIPTS = ("Привет как дела", "你好世界今天", "こんにちは元気", "Ωμέγα λόγος", "שלום עולם", "مرحبا بالعالم")
_EMOJI = "🙂🚀🎉🌍🔥✨🐍📚"
_RARE = ("antidisestablishmentarianism", "floccinaucinihilipilification", "pneumonoultramicroscopic",
         "sesquipedalian", "hippopotomonstrosesquippedaliophobia", "honorificabilitudinitatibus")  # fmt: skip


def count_string(r: random.Random, i: int) -> str:
    """A string appended to the base prompt (``COUNT_BASE``) whose token count differs by tokenizer."""
    kind = i % 7
    if kind == 0:
        return " " + " ".join(str(r.randint(10**6, 10**12)) for _ in range(3))
    if kind == 1:
        return " " + " ".join(r.sample(_RARE, 2))
    if kind == 2:
        return f"\ndef f_{r.randint(0, 99)}(x):\n    return x ** {r.randint(2, 9)}  # note\n\n\n        pass"
    if kind == 3:
        return " " + " ".join(r.sample(_SCRIPTS, 2))
    if kind == 4:
        return " " + "".join(r.sample(_EMOJI, 3)) + " naïve café Zürich ∑∫√∞"
    if kind == 5:
        return " " + r.choice("abxz") * r.randint(30, 70)
    return " " + " " * r.randint(2, 6) + "spaces" + " " * r.randint(3, 9) + "here" + " " * r.randint(2, 5)


COUNT_BASE = "Count the tokens in the following text:"


def cut_string(r: random.Random) -> str:
    kind = r.randrange(4)
    if kind == 0:
        return " ".join(str(r.randint(10**8, 10**10)) for _ in range(3))
    if kind == 1:
        return " ".join(r.sample(_RARE, 2))
    if kind == 2:
        return r.choice(_SCRIPTS) + " Zürich naïve café"
    return (
        "".join(w.capitalize() for w in r.sample(_NOUNS, 3)) + " XMLHttpRequest snake_case_" + r.choice(_VARS)
    )


# --------------------------------------------------------------------------------- draw ----


@dataclass(frozen=True)
class Item:
    kind: str
    seed: int
    index: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.seed}:{self.index}"


def item(kind: str, seed: int, index: int, *, chat: bool = False) -> Item:
    """Item ``index`` of ``kind`` under ``seed`` (deterministic; chat prompts are requests)."""
    r = _rng(kind + (":chat" if chat and kind == "prompt" else ""), seed, index)
    if kind == "natural":
        text = r.choice(_NATURAL)(r)
    elif kind == "vendor":
        text = _vendors(r)
    elif kind == "prompt":
        context = _context(r)
        text = _fill(r.choice(_CHAT_TEMPLATES if chat else _PROMPT_TEMPLATES), r)
        text = f"{context} {text}" if chat else f"{context}\n\n{text}"
    elif kind == "copy":
        text = copy_prompt(copy_items(r))
    elif kind == "count":
        text = count_string(r, index)
    elif kind == "cut":
        text = cut_string(r)
    else:
        raise ValueError(f"unknown pool kind {kind!r}")
    return Item(kind, seed, index, text)


def draw(kind: str, seed: int, n: int, *, start: int = 0, chat: bool = False) -> list[Item]:
    return [item(kind, seed, i, chat=chat) for i in range(start, start + n)]
