"""The benchmarks this tool audits: names, splits, expected sizes, Hub locations and licences.

Counts are the official sizes; a copy with another count is refused (or accepted as an explicitly
partial copy), because a silently short test set would bias every score computed on it.

Hub revisions are pinned to the main-branch commits that the field's caches and pinned evaluation
configs show for these datasets (each seen in several independent public repositories; the Hub itself
cannot be reached from where this was written). A pinned commit means a Hub load reads the same bytes
next year; `load_benchmark(..., revision="main")` reads the newest, and the record keeps the commit read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    title: str
    kind: str  # "math" (free-form answer) or "multiple_choice"
    eval_split: str  # the split claims are scored on
    splits: dict[str, int]  # split -> official item count
    hub_path: str
    hub_configs: tuple[str, ...]  # configs to load and concatenate (MMLU: one per subject or "all")
    licence: str
    citation: str
    fewshot_split: str | None = None
    hub_split_names: dict[str, str] = field(default_factory=dict)  # our split -> Hub split name
    hub_revision: str | None = None  # the pinned Hub commit (None: main); the commit read is recorded


MMLU_SUBJECTS: tuple[str, ...] = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
    "college_biology", "college_chemistry", "college_computer_science", "college_mathematics",
    "college_medicine", "college_physics", "computer_security", "conceptual_physics", "econometrics",
    "electrical_engineering", "elementary_mathematics", "formal_logic", "global_facts",
    "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics",
    "high_school_physics", "high_school_psychology", "high_school_statistics",
    "high_school_us_history", "high_school_world_history", "human_aging", "human_sexuality",
    "international_law", "jurisprudence", "logical_fallacies", "machine_learning", "management",
    "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios",
    "nutrition", "philosophy", "prehistory", "professional_accounting", "professional_law",
    "professional_medicine", "professional_psychology", "public_relations", "security_studies",
    "sociology", "us_foreign_policy", "virology", "world_religions",
)  # fmt: skip

BENCHMARKS: dict[str, BenchmarkSpec] = {
    "gsm8k": BenchmarkSpec(
        name="gsm8k",
        title="GSM8K",
        kind="math",
        eval_split="test",
        splits={"test": 1319, "train": 7473},
        fewshot_split="train",
        hub_path="openai/gsm8k",
        hub_configs=("main",),
        hub_revision="cc7b047b6e5bb11b4f1af84efc572db110a51b3c",
        licence="MIT",
        citation="Cobbe et al., 'Training Verifiers to Solve Math Word Problems', 2021",
    ),
    "mmlu": BenchmarkSpec(
        name="mmlu",
        title="MMLU",
        kind="multiple_choice",
        eval_split="test",
        splits={"test": 14042, "dev": 285, "validation": 1531},
        fewshot_split="dev",
        hub_path="cais/mmlu",
        hub_configs=("all",),
        hub_revision="c30699e8356da336a370243923dbaf21066bb9fe",
        licence="MIT",
        citation="Hendrycks et al., 'Measuring Massive Multitask Language Understanding', ICLR 2021",
    ),
    "arc_challenge": BenchmarkSpec(
        name="arc_challenge",
        title="ARC-Challenge",
        kind="multiple_choice",
        eval_split="test",
        splits={"test": 1172, "train": 1119, "validation": 299},
        fewshot_split="train",
        hub_path="allenai/ai2_arc",
        hub_configs=("ARC-Challenge",),
        hub_revision="210d026faf9955653af8916fad021475a3f00453",
        licence="CC BY-SA 4.0",
        citation="Clark et al., 'Think you have Solved Question Answering? Try ARC', 2018",
    ),
    "arc_easy": BenchmarkSpec(
        name="arc_easy",
        title="ARC-Easy",
        kind="multiple_choice",
        eval_split="test",
        splits={"test": 2376, "train": 2251, "validation": 570},
        fewshot_split="train",
        hub_path="allenai/ai2_arc",
        hub_configs=("ARC-Easy",),
        hub_revision="210d026faf9955653af8916fad021475a3f00453",
        licence="CC BY-SA 4.0",
        citation="Clark et al., 'Think you have Solved Question Answering? Try ARC', 2018",
    ),
    "hellaswag": BenchmarkSpec(
        name="hellaswag",
        title="HellaSwag",
        kind="multiple_choice",
        eval_split="validation",  # test labels are hidden; lm-eval scores validation
        splits={"validation": 10042, "train": 39905},
        fewshot_split="train",
        hub_path="Rowan/hellaswag",
        hub_configs=("default",),
        hub_revision="218ec52e09a7e7462a5400043bb9a69a41d06b76",
        licence="MIT",
        citation="Zellers et al., 'HellaSwag: Can a Machine Really Finish Your Sentence?', ACL 2019",
    ),
}


def get_spec(name: str) -> BenchmarkSpec:
    """The spec for a benchmark name, with a clear error listing the known names."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        known = ", ".join(BENCHMARKS)
        raise KeyError(f"unknown benchmark '{name}'; known: {known}") from None
