#!/usr/bin/env bash
# Checks rdpbench's byte-level BPE tokenizer (harness/lm/src/tokenizer.rs) against
# Hugging Face's on ~50 fixed strings, both built from the SmolLM2 GGUF fetched by
# scripts/fetch-real-data.sh, and rewrites the test fixture
# harness/lm/tests/fixtures/smollm2_hf_tokens.json. Prints every mismatch; exit 1 if any.
#
# Python environment: $TOKCHECK_VENV (default target/pyvenv, which already holds torch,
# needed by transformers' GGUF loader). Missing packages are installed pinned:
# transformers==4.46.3 tokenizers==0.20.3 gguf==0.17.1 sentencepiece==0.2.0
# (gguf imports sentencepiece without declaring it; torch only if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

GGUF="${1:-${RDPBENCH_REAL_DATA:-target/real-data}/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}"
VENV="${TOKCHECK_VENV:-target/pyvenv}"
FIXTURE=harness/lm/tests/fixtures/smollm2_hf_tokens.json

if [[ ! -f "$GGUF" ]]; then
    echo "error: $GGUF not found; run scripts/fetch-real-data.sh first" >&2
    exit 2
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import transformers, tokenizers, gguf, sentencepiece, torch' 2>/dev/null; then
    "$PY" -m pip install --quiet transformers==4.46.3 tokenizers==0.20.3 gguf==0.17.1 sentencepiece==0.2.0
    "$PY" -c 'import torch' 2>/dev/null ||
        "$PY" -m pip install --quiet --index-url https://download.pytorch.org/whl/cpu torch
fi

cargo build --quiet --release -p rdpbench --bin rdpbench
"$PY" scripts/check-tokenizer-vs-hf.py "$GGUF" target/release/rdpbench "$FIXTURE"
