"""The benchmarks this tool audits, as data: one spec file per benchmark under ``benchmarks/``.

Everything harness knows about a benchmark lives in its ``benchmarks/<name>.toml``: names, splits and
their official sizes, Hub location and pinned commit, licence, the stock lm-eval task (and its
chain-of-thought variant) with its default shots, metrics, answer filters and the YAML keys we set,
the cluster key of its items, its strata and their sizes, the source of its label-error ceiling,
the fields a leakage scan indexes, and how its local copies are recognised. Code asks the spec
(``get_spec(name).lm_eval.shots``) instead of branching on a benchmark's name, so a new benchmark is
a new file (plus a line in ``benchmarks/index.toml``) and whatever new behaviour it really needs.
The files are read once and validated by the pydantic models below; a bad file is an error naming
the file and the field. Model: lm-eval's task YAML read through its ``TaskConfig``; the specs' lm-eval
facts are checked against lm-eval's own YAML in ``tests/data/test_registry.py``, so an lm-eval upgrade
that changes a stock task cannot silently disagree with them.

Counts are the official sizes; a copy with another count is refused (or accepted as an explicitly
partial copy), because a silently short test set would bias every score computed on it.

Hub revisions are pinned to the main-branch commits that the field's caches and pinned evaluation
configs show for these datasets (each seen in several independent public repositories; the Hub itself
cannot be reached from where this was written). A pinned commit means a Hub load reads the same bytes
next year; `load_benchmark(..., revision="main")` reads the newest, and the record keeps the commit read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SPEC_DIR = Path(__file__).parent / "benchmarks"
INDEX_FILE = "index.toml"

SplitRole = Literal["eval", "fewshot", "none"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LmEvalTask(_Spec):
    """One stock lm-eval task we run on our own copy of the data (``harness/verify/tasks.py``)."""

    task: str  # the stock task's name (ours is "harness_" + it)
    file: str  # its YAML under lm_eval/tasks; "{<task_per>}" in it names one file per stratum
    shots: int = Field(ge=0)  # the stock task's num_fewshot (0 when it sets none)
    # Stock YAML keys we set, in order: to the scored split, the few-shot split, or null.
    split_keys: dict[str, SplitRole]
    # Few-shot exemplars written in the YAML itself (no split is read; only 0 or all of them).
    inline_fewshot: bool = False

    @model_validator(mode="after")
    def _one_eval_split(self) -> LmEvalTask:
        if list(self.split_keys.values()).count("eval") != 1:
            raise ValueError("split_keys must name exactly one key as the scored split ('eval')")
        return self


class LmEvalSpec(LmEvalTask):
    """The benchmark's stock task, its scoring vocabulary, and its chain-of-thought variant if any."""

    metrics: tuple[str, ...]  # metric names a claim may use (lm-eval's)
    default_metric: str  # what a claim means when it names none
    filters: tuple[str, ...]  # lm-eval filter names (answer extraction); ("none",) without one
    default_filter: str
    task_per: str | None = None  # one stock task per value of this field (MMLU: subject), run as a group
    chain_of_thought: LmEvalTask | None = None

    @model_validator(mode="after")
    def _defaults_are_listed(self) -> LmEvalSpec:
        if self.default_metric not in self.metrics:
            raise ValueError(f"default_metric {self.default_metric!r} is not among metrics {self.metrics}")
        if self.default_filter not in self.filters:
            raise ValueError(f"default_filter {self.default_filter!r} is not among filters {self.filters}")
        if (self.task_per is None) != ("{" not in self.file):
            raise ValueError("file has a '{field}' placeholder exactly when task_per names the field")
        return self

    @property
    def extracts_answer(self) -> bool:
        """Whether lm-eval extracts an answer with a choice of filters (the claim's `filter` matters)."""
        return self.filters != ("none",)

    def task_for(self, chain_of_thought: bool) -> LmEvalTask:
        if chain_of_thought:
            if self.chain_of_thought is None:
                raise ValueError(f"{self.task} has no chain-of-thought task")
            return self.chain_of_thought
        return self


class HubSpec(_Spec):
    path: str
    configs: tuple[str, ...]  # configs to load and concatenate (MMLU: one per subject or "all")
    revision: str | None = None  # the pinned Hub commit (None: main); the commit read is recorded
    split_names: dict[str, str] = Field(default_factory=dict)  # our split -> Hub split name


class CeilingSpec(_Spec):
    """Where the plausibility ceiling comes from, or why there is none (quoted by the verdict)."""

    source: str | None = None  # a key of harness.verify.ceilings.CEILING_SOURCES
    none: str | None = None  # why no ceiling is used

    @model_validator(mode="after")
    def _one_of(self) -> CeilingSpec:
        if (self.source is None) == (self.none is None):
            raise ValueError("give exactly one of 'source' (a ceiling) or 'none' (why there is none)")
        return self


class StrataSpec(_Spec):
    """Fixed strata of the test set and their sizes: the full test set weighs each by its size."""

    key: str  # the row field naming the stratum
    sizes: dict[str, int]  # stratum -> items in the full evaluation split

    @property
    def total(self) -> int:
        return sum(self.sizes.values())


class ClusterSpec(_Spec):
    """Row fields that group non-independent items; the first every row carries is used, else the last."""

    keys: tuple[str, ...] = Field(min_length=1)


class ScanSpec(_Spec):
    default: bool = True  # scanned when `harness scan` names no benchmark
    fields: tuple[str, ...]  # the item fields a leakage scan indexes ("choices": each choice)
    # The answer is a worked solution with calculator annotations (<<48/2=24>>) that copies on the web
    # usually drop: the scan also indexes it without them (harness/leakage/index.py).
    plain_answer: bool = False


class ContaminationSpec(_Spec):
    """How ``harness contamination`` builds twins of this benchmark's items and which tests apply."""

    # "reinstantiate": new numbers through the worked solution (GSM8K, harness/contamination/gsm8k_twins);
    # "reorder": the same question with its options permuted (harness/contamination/mc_twins).
    twins: Literal["reinstantiate", "reorder"]
    # lm-eval scores each option's text after the question, whatever the options' order: a reordered
    # twin scores exactly as its original, so the score test cannot see it (ARC, HellaSwag).
    order_invariant_scoring: bool = False
    # a split a model may legitimately have trained on, twinned to calibrate the tests without a
    # reference model (GSM8K's train split)
    control_split: str | None = None

    @property
    def question_changes(self) -> bool:
        """Whether a twin's question differs from the original's (only then does a completion test of
        the question contrast seen and unseen text)."""
        return self.twins == "reinstantiate"


class LocalCopySpec(_Spec):
    file_tag: str | None = None  # word marking this benchmark's files in a folder shared with others
    plain_text: bool = False  # the 6-lines-per-item text release (HellaSwag) is read


class BenchmarkSpec(_Spec):
    """Everything known about one benchmark (one ``benchmarks/<name>.toml``)."""

    name: str
    title: str
    kind: Literal["math", "multiple_choice"]  # free-form answer, or options scored by log-likelihood
    schema_: Literal["gsm8k", "mmlu", "arc", "hellaswag"] = Field(alias="schema")  # Hub schema family
    text_field: str  # the Hub field with the text the model is asked (the document lm-eval scores)
    eval_split: str  # the split claims are scored on
    splits: dict[str, int]  # split -> official item count
    fewshot_split: str | None = None
    licence: str
    citation: str
    ids_within: str | None = None  # item ids numbered within this field's value (MMLU: subject)
    hub: HubSpec
    lm_eval: LmEvalSpec
    ceiling: CeilingSpec
    strata: StrataSpec | None = None
    clusters: ClusterSpec | None = None
    scan: ScanSpec
    contamination: ContaminationSpec
    local_copy: LocalCopySpec = Field(default_factory=LocalCopySpec)

    @model_validator(mode="after")
    def _consistent(self) -> BenchmarkSpec:
        if self.eval_split not in self.splits:
            raise ValueError(f"eval_split {self.eval_split!r} is not among splits {list(self.splits)}")
        if self.fewshot_split is not None and self.fewshot_split not in self.splits:
            raise ValueError(f"fewshot_split {self.fewshot_split!r} is not among splits {list(self.splits)}")
        if self.strata is not None and self.strata.total != self.splits[self.eval_split]:
            raise ValueError(
                f"strata sizes sum to {self.strata.total}, not the {self.splits[self.eval_split]} items of "
                f"the {self.eval_split} split"
            )
        if self.lm_eval.task_per is not None and (
            self.strata is None or self.strata.key != self.lm_eval.task_per
        ):
            raise ValueError("lm_eval.task_per must name the strata key")
        if self.strata is not None and self.clusters is not None:
            raise ValueError("a benchmark has strata (fixed by design) or clusters, not both")
        twins = self.contamination.twins
        if (twins == "reorder") != (self.kind == "multiple_choice"):
            raise ValueError(f"contamination.twins {twins!r} does not fit a {self.kind} benchmark")
        control = self.contamination.control_split
        if control is not None and (control not in self.splits or control == self.eval_split):
            raise ValueError(
                f"contamination.control_split {control!r} must be a split other than {self.eval_split!r} "
                f"among {list(self.splits)}"
            )
        return self

    # Short names for what code asks most often.
    @property
    def generative(self) -> bool:
        return self.kind != "multiple_choice"

    @property
    def hub_path(self) -> str:
        return self.hub.path

    @property
    def hub_configs(self) -> tuple[str, ...]:
        return self.hub.configs

    @property
    def hub_revision(self) -> str | None:
        return self.hub.revision

    @property
    def hub_split_names(self) -> dict[str, str]:
        return self.hub.split_names

    def cluster_key(self, rows: Sequence[Mapping[str, Any]]) -> str | None:
        """The field that clusters these rows' items, if the benchmark has clusters (see ClusterSpec)."""
        if self.clusters is None or not rows:
            return None
        for key in self.clusters.keys[:-1]:
            if all(str(r.get(key) or "").strip() for r in rows):
                return key
        return self.clusters.keys[-1]


class SpecError(ValueError):
    """A benchmark spec file is malformed; the message names the file and the field."""


def read_spec(path: Path) -> BenchmarkSpec:
    """One spec file, validated; errors name the file and each bad field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: cannot read benchmark spec: {exc}") from None
    try:
        spec = BenchmarkSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<top>'}: {err['msg']}" for err in exc.errors()
        )
        raise SpecError(f"{path}: {problems}") from None
    if spec.name != path.stem:
        raise SpecError(f"{path}: name {spec.name!r} does not match the file name")
    return spec


def read_specs(spec_dir: Path = SPEC_DIR) -> dict[str, BenchmarkSpec]:
    """All specs listed in ``index.toml``, in its order; a listed file missing or an unlisted one is an error."""
    index_path = spec_dir / INDEX_FILE
    try:
        names = tomllib.loads(index_path.read_text(encoding="utf-8"))["benchmarks"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise SpecError(f"{index_path}: cannot read the list of benchmarks: {exc}") from None
    files = {p.stem for p in spec_dir.glob("*.toml")} - {Path(INDEX_FILE).stem}
    if set(names) != files or len(set(names)) != len(names):
        raise SpecError(
            f"{index_path}: lists {sorted(names)} but the folder has specs {sorted(files)}; list each once"
        )
    return {name: read_spec(spec_dir / f"{name}.toml") for name in names}


BENCHMARKS: dict[str, BenchmarkSpec] = read_specs()


def _strata_names(name: str) -> tuple[str, ...]:
    strata = BENCHMARKS[name].strata
    if strata is None:
        raise SpecError(f"{name} has no strata")
    return tuple(strata.sizes)


MMLU_SUBJECTS: tuple[str, ...] = _strata_names("mmlu")


def get_spec(name: str) -> BenchmarkSpec:
    """The spec for a benchmark name, with a clear error listing the known names."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        known = ", ".join(BENCHMARKS)
        raise KeyError(f"unknown benchmark '{name}'; known: {known}") from None


def benchmark_names() -> tuple[str, ...]:
    return tuple(BENCHMARKS)


def default_scan_set() -> tuple[str, ...]:
    """The benchmarks a scan covers when it names none."""
    return tuple(name for name, spec in BENCHMARKS.items() if spec.scan.default)
