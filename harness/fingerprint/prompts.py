"""The fixed texts every fingerprint run sends: the same inputs on every run, so results are comparable.

Why fixed and written here rather than drawn from a benchmark: the probes need (a) ordinary human-written
text from many registers (prose, code, numbers, letters, dialogue) on which a weight change moves the
log-likelihood, (b) strings that different tokenizers split differently, and (c) texts that name model
vendors, to see whether anything between us and the model rewrites them. None of it must come from a
test set the endpoint's model may have been tuned on, and all of it must be short (cost is per token).
Changing any text here changes the calibration cache key (``PROBE_SET_VERSION``).
"""

from __future__ import annotations

PROBE_SET_VERSION = 1

# Vendor and model names a relay might delete or replace, and neutral words used as controls.
VENDOR_WORDS = (
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
CONTROL_WORDS = ("Paris", "Tuesday", "violin", "copper", "Berlin", "garden", "Friday", "silver")

# Natural texts for the log-probability probe, in the order they are sent (the sequential test adds
# them in batches). Several name vendors: their echo also shows whether the endpoint rewrites text.
NATURAL_TEXTS: tuple[str, ...] = (
    "The old lighthouse keeper climbed the spiral stairs every evening at dusk. He had done so for forty years, through storms and calm seas alike, and he knew each of the one hundred and twelve steps by the sound it made under his boots.",
    "Photosynthesis is the process by which green plants and some other organisms use sunlight to synthesize foods from carbon dioxide and water. It generally involves the green pigment chlorophyll and generates oxygen as a byproduct.",
    'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nprint(fibonacci(10))',
    "A farmer has 17 sheep and buys 5 more each month. After 6 months he sells a third of the flock. To find how many remain, first add 5 times 6 to 17, which gives 47, and then subtract a third of 47.",
    "In 2023 OpenAI released GPT-4, Anthropic released Claude 2, and Google announced Gemini. Meta published the weights of Llama 2, and the French company Mistral released a small open model a few months later.",
    "To make a simple tomato sauce, heat two tablespoons of olive oil in a pan, add a chopped onion and two cloves of garlic, and cook until soft. Then add a can of crushed tomatoes, salt, and a pinch of sugar, and simmer for twenty minutes.",
    "The Treaty of Westphalia, signed in 1648, ended the Thirty Years' War in the Holy Roman Empire and the Eighty Years' War between Spain and the Dutch Republic. It is often cited as the origin of the modern system of sovereign states.",
    'User: Can you recommend a good book about the history of mathematics?\nAssistant: Sure! A popular choice is "Journey through Genius" by William Dunham, which walks through great theorems and the people who proved them.',
    '{"name": "Alice", "age": 30, "languages": ["English", "French"], "address": {"city": "Paris", "zip": "75001"}, "active": true}',
    "Machine learning models are often evaluated on held-out test sets. If the test data leaks into the training data, the reported accuracy can be far higher than the accuracy the model achieves on genuinely new examples.",
    "Roses are red, violets are blue, the morning is bright and the sky is too. The river runs down to the edge of the sea, and the wind in the willows is singing to me.",
    "In the early twentieth century, physicists discovered that light behaves both as a wave and as a particle. This duality became one of the foundations of quantum mechanics, together with the uncertainty principle.",
    "SELECT customer_id, COUNT(*) AS orders FROM orders WHERE created_at >= '2024-01-01' GROUP BY customer_id ORDER BY orders DESC LIMIT 10;",
    "Dear Ms. Patel,\n\nThank you for your letter of March 3rd. I am pleased to confirm that your application has been approved, and your first payment will arrive within ten working days.\n\nKind regards,\nThe Benefits Office",
    "The mitochondrion is often called the powerhouse of the cell. It produces most of the chemical energy needed to power the cell's biochemical reactions, stored in a molecule called adenosine triphosphate.",
    "She opened the door slowly. The room was dark except for a thin line of moonlight on the floor, and somewhere in the corner a clock was ticking louder than any clock she had ever heard.",
    "Step 1: Preheat the oven to 180 degrees. Step 2: Grease a round cake tin. Step 3: Beat the butter and sugar together until pale. Step 4: Add the eggs one at a time, then fold in the flour.",
    "The stock market fell sharply on Tuesday after the central bank raised interest rates by half a percentage point, the largest increase in more than two decades, citing persistent inflation.",
    "import numpy as np\n\nx = np.linspace(0, 2 * np.pi, 100)\ny = np.sin(x)\nprint(y.max(), y.argmax())",
    "Mount Everest, at 8,849 metres above sea level, is the highest mountain on Earth. It lies in the Mahalangur Himal sub-range of the Himalayas, on the border between Nepal and the Tibet Autonomous Region of China.",
    "Q: What is the boiling point of water at sea level?\nA: Water boils at 100 degrees Celsius, or 212 degrees Fahrenheit, at standard atmospheric pressure.",
    "The committee reviewed forty-two proposals this year. Of these, eleven were funded in full, nine received partial funding, and the remainder were returned to their authors with detailed comments.",
    "Once upon a time, in a small village at the foot of the mountains, there lived a shoemaker and his wife. They were poor but honest, and every night they left a bowl of milk by the door for the fairies.",
    "To reset your password, open the settings page, choose Security, and click Forgot password. A link will be sent to your registered email address; it expires after twenty-four hours.",
    "The derivative of x squared is two x, and the integral of two x with respect to x is x squared plus a constant. These two results illustrate the fundamental theorem of calculus.",
    "Assistants such as ChatGPT, Claude and Gemini are built on large language models. Smaller open models, like SmolLM from Hugging Face or Qwen from Alibaba, can run on a laptop without a network connection.",
    "The train to Edinburgh leaves platform four at seven minutes past nine. Passengers for Newcastle should change at York, where a connecting service departs twenty minutes later.",
    "for (int i = 0; i < n; i++) {\n    if (values[i] > max) {\n        max = values[i];\n    }\n}\nreturn max;",
    "Honeybees communicate the location of flowers through a waggle dance. The angle of the dance relative to the vertical tells other bees the direction of the food relative to the sun.",
    "The invoice lists three items: a desk lamp at 24.99, a pack of printer paper at 6.50, and a stapler at 11.75. With a ten percent discount the total comes to 38.92.",
    "He had never liked the city in winter. The streets were grey with slush, the buses were late, and everyone walked with their heads down as if they were looking for something they had lost.",
    "The French Revolution began in 1789 with the storming of the Bastille. Within a few years the monarchy had been abolished, and the king was executed in January 1793.",
)

# Token accounting: the first string is the base; every other string is appended to it, so the
# difference in prompt_tokens between base+s and base is the token count of s in context (a chat
# template's and BOS's constant overhead cancels). Chosen to split differently under common tokenizers:
# digit runs (split per digit, per three digits, or whole), rare words, code indentation, runs of
# spaces, non-Latin scripts, emoji, and long repeats that byte-pair merges compress unevenly.
TOKEN_COUNT_BASE = "Count the tokens in the following text:"
TOKEN_COUNT_STRINGS: tuple[str, ...] = (
    " 1234567890 9876543210 31415926535897932384",
    " antidisestablishmentarianism floccinaucinihilipilification pneumonoultramicroscopic",
    "\ndef f(x):\n    return x ** 2  # square\n\n\n        pass",
    " Привет, как дела? 你好，世界！ こんにちは",
    " 🙂🚀🎉 naïve café Zürich Ωμέγα ∑∫∂√∞ ≠ ≤ ≥ → ←",
    " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "    leading   and    multiple     spaces      here   ",
    " ID-00042_x9; http://example.com/a?b=c&d=e#frag sha256:9f86d081884c7d65",
    " The quick brown fox jumps over the lazy dog.",
    " ThisIsCamelCaseWithoutSpaces_and_snake_case_identifiers_XMLHttpRequest",
)

# Output tokenisation: texts the model is asked to repeat; the reply is cut after k tokens by the
# server's own tokenizer, and the cut text is re-tokenised with the reference's.
TRUNCATION_TEXTS: tuple[str, ...] = (
    "1234567890 9876543210 1122334455",
    "antidisestablishmentarianism floccinaucinihilipilification",
    "Привет, как дела? Zürich naïve café",
    "ThisIsCamelCase XMLHttpRequest snake_case_identifier",
)
TRUNCATION_MAX_TOKENS: tuple[int, ...] = (4, 7)

# Copy lists for the deletion/replacement probe: a few-shot pattern that even very small models follow
# (copying by induction), with vendor names and control words in the part the model must produce.
COPY_LISTS: tuple[tuple[str, ...], ...] = (
    ("apple", "Paris", "OpenAI", "table", "Anthropic", "seven"),
    ("green", "Tuesday", "Claude", "chair", "Google", "nine"),
    ("river", "violin", "ChatGPT", "window", "Meta", "three"),
    ("cloud", "copper", "GPT-4", "pencil", "Llama", "eight"),
    ("stone", "Berlin", "Gemini", "lamp", "Mistral", "four"),
    ("honey", "garden", "Qwen", "bottle", "DeepSeek", "two"),
    ("tiger", "Friday", "Hugging Face", "spoon", "SmolLM", "five"),
    ("maple", "silver", "Anthropic", "ladder", "OpenAI", "six"),
)
COPY_EXAMPLE = ("red", "London", "orange", "Monday", "blue", "ten")

IDENTITY_QUESTIONS: tuple[str, ...] = (
    "Who are you? Which company created you, and what is your model name?",
    "What language model are you, exactly? Answer in one sentence.",
)

# Open prompts for greedy agreement and the two-sample test on sampled continuations.
SAMPLING_PROMPTS: tuple[str, ...] = (
    "The best way to learn a new language is",
    "Once upon a time, there was a",
    "The three most important inventions of the last century are",
    "Here is a short poem about the sea:\n",
    "def add(a, b):\n",
    "The capital of Australia is",
    "My favourite thing about autumn is",
    "The recipe calls for",
    "In the year 2050, cities will",
    "Dear customer, we are writing to inform you that",
    "The main causes of the First World War were",
    "A healthy breakfast should include",
    "The cat sat on the",
    "Scientists have recently discovered that",
    "To install the package, run",
    "The weather forecast for tomorrow says",
)

# Cache tell: at temperature 1 two honest samples of this many tokens from an open prompt essentially
# never coincide; a cache returns the first answer again.
CACHE_PROMPT = "Write a list of ten random words, separated by commas:"
CACHE_MAX_TOKENS = 24
