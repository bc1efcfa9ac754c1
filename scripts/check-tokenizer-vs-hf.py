"""Compare rdpbench's SmolLM2 tokenizer with Hugging Face's on a fixed list of strings.

Both tokenizers are built from the same GGUF file. Two HF references are computed:

* ``hf_gguf``: ``transformers.AutoTokenizer.from_pretrained(dir, gguf_file=...)``, i.e.
  transformers' own GGUF converter. For a ``gpt2``-model vocabulary inside a ``llama``
  GGUF it installs a plain GPT-2 ``ByteLevel`` pre-tokenizer and ignores
  ``tokenizer.ggml.pre``.
* ``hf_smollm``: the same ``tokenizers`` object with the pre-tokenizer that
  ``tokenizer.ggml.pre = "smollm"`` names (SmolLM2's own tokenizer.json and llama.cpp's
  ``LLAMA_VOCAB_PRE_TYPE_SMOLLM``): ``Sequence([Digits(individual_digits=True),
  ByteLevel(add_prefix_space=False, use_regex=True)])``. This is the reference the
  fixture stores.

Special-token strings are encoded as plain text (``split_special_tokens=True``), no BOS,
as ``rdpbench lm tokenize`` does.

One difference is by design and reported as "explained": a byte with no single-byte
token in the vocabulary (SmolLM2 lacks e.g. 0x04). transformers' GGUF converter builds
its BPE with the GGUF's ``unknown_token_id`` (0, ``<|endoftext|>``) and emits that id;
rdpbench drops the byte, as llama.cpp's BPE tokenizer does (it skips bytes without a
token). An explained mismatch is one where deleting the unknown id from HF's ids gives
rdpbench's ids.

Usage: check-tokenizer-vs-hf.py GGUF RDPBENCH_BIN FIXTURE_OUT
Exit status 1 when rdpbench disagrees with ``hf_smollm`` on any string beyond that.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# Fixed list: ASCII, digits, whitespace runs, newlines, unicode, emoji, code, and the
# first lines of five Brown passages (ca01, cf05, cj12, cn03, cr09; written with the
# crate's Brown text rule).
STRINGS = [
    "Hello world",
    "hello, world!",
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "a  b   c    d",
    "tab\tseparated\tvalues",
    "line one\nline two",
    "para one\n\npara two",
    "windows\r\nline end",
    "   \n   \n",
    "\n",
    "   ",
    "",
    "1234567890",
    "In 2024, 3.14159 and 1,000,000 and -42.",
    "version v1.2.3-rc4",
    "phone: +1 (555) 010-9999",
    "0x1F and 0b1010",
    "I'm sure you've seen they'll say it's 'quoted' and \"double\".",
    "DON'T SHOUT, It'S fine",
    "naïve café résumé",
    "Straße und Größe",
    "Ελληνικά και русский текст",
    "日本語のテキストと中文文本",
    "한국어 문장입니다",
    "عربى نص",
    "emoji 😀🎉👍🏽 and 👨‍👩‍👧",
    "math: ∑ x² ≤ ∞ ± √2",
    "fractions ½ ¾ and superscript ² ³ and Ⅻ",
    "Arabic-Indic digits ٣٤٥ and fullwidth １２３",
    "def f(x):\n    return x ** 2  # square\n",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "for (int i = 0; i < n; ++i) { a[i] += b[i]; }",
    "<html><body class=\"x\">&amp;</body></html>",
    "https://example.com/path?q=1&r=two#frag",
    "user@example.org",
    "$100.00 or €50 or £20 or ¥3000",
    "!!!???...,,,;;;",
    "----- ===== *****",
    "<|im_start|>user\nhi<|im_end|>",
    "<|endoftext|>",
    "supercalifragilisticexpialidocious",
    "ThisIsCamelCase and snake_case_name",
    "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent "
    "primary election produced \"no evidence\" that any irregularities took place.",
    "Buffeted by swirling winds, the little green biplane struggled northward between "
    "the mountains beyond Northfield Gulf.",
    "The bronchus and pulmonary artery in this lung type maintain a close relationship "
    "throughout.",
    "The sentry was not dead.",
    "Dear Sirs: Let me begin by clearing up any possible misconception in your minds, "
    "wherever you are.",
    "control\x01bytes\x04here\x7f",
]


def main() -> int:
    gguf_path, rdpbench, fixture_out = map(Path, sys.argv[1:4])
    import tokenizers
    import transformers
    from tokenizers import pre_tokenizers
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)

    def encode(tok):
        return [tok.encode(s, add_special_tokens=False, split_special_tokens=True) for s in STRINGS]

    hf_gguf = encode(hf)
    hf._tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    hf_smollm = encode(hf)

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(STRINGS, f)
        strings_file = f.name
    ours = json.loads(
        subprocess.run(
            [str(rdpbench), "lm", "tokenize", "--model", str(gguf_path), "--strings", strings_file],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert len(ours) == len(STRINGS), "rdpbench returned a different number of id lists"

    unk = hf.unk_token_id

    def report(name, ref):
        bad = [i for i, (a, b) in enumerate(zip(ours, ref)) if a != b]
        explained = [i for i in bad if [x for x in ref[i] if x != unk] == ours[i]]
        print(
            f"rdpbench vs {name}: {len(bad)} of {len(STRINGS)} strings differ, "
            f"{len(explained)} of them only by HF's unknown id {unk} for a byte without a token"
        )
        for i in bad:
            tag = " (explained)" if i in explained else ""
            print(f"  [{i}]{tag} {STRINGS[i]!r}\n      rdpbench {ours[i]}\n      {name:<8} {ref[i]}")
        return len(bad) - len(explained)

    report("hf_gguf", hf_gguf)
    n_bad = report("hf_smollm", hf_smollm)

    fixture = {
        "provenance": (
            "Generated by scripts/check-tokenizer-vs-hf.sh: Hugging Face tokenizers "
            f"{tokenizers.__version__} (transformers {transformers.__version__}) loaded from "
            f"{gguf_path.name} with AutoTokenizer.from_pretrained(gguf_file=...), pre-tokenizer "
            "set to SmolLM2's Sequence([Digits(individual_digits=True), ByteLevel(add_prefix_space="
            "False, use_regex=True)]); encode(add_special_tokens=False, split_special_tokens=True)."
        ),
        "gguf": gguf_path.name,
        "unknown_token_id": unk,
        "cases": [
            {"text": s, "ids": ids, "hf_gguf_ids_if_different": (g if g != ids else None)}
            for s, ids, g in zip(STRINGS, hf_smollm, hf_gguf)
        ],
    }
    Path(fixture_out).write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n")
    print(f"fixture written to {fixture_out}")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
