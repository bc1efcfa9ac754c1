"""Fallback peer for scripts/bench-extraction.sh when llama-cpp-python is missing:
the same llama forward (SmolLM2) in PyTorch over the same GGUF's weights dequantized
to f32 (F32, F16, Q8_0, Q4_1 handled; anything else is refused by name), on the
token windows from `rdpbench lm bench-forward --dump-windows`, batches of BATCH
windows, all blocks up to LAYER (inclusive), no logits. torch.inference_mode,
torch.set_num_threads(THREADS); attention by F.scaled_dot_product_attention
(causal, GQA by repeat_interleave). Prints one JSON object.

Usage: python bench_extraction_torch.py GGUF WINDOWS_JSON THREADS REPEATS BATCH LAYER
"""

import json
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# GGUF metadata value types -> struct formats (strings, arrays, bool handled apart).
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 10: "Q", 11: "q", 12: "d"}


def read_gguf(path):
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos : pos + n].decode("utf-8", "replace")
        pos += n
        return s

    def value(t):
        if t in SCALAR:
            return take(SCALAR[t])
        if t == 7:
            return bool(take("B"))
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        raise ValueError(f"{path}: metadata value type {t}")

    if buf[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    pos = 4
    _version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        dims = [take("Q") for _ in range(nd)]
        infos.append((name, dims, take("I"), take("Q")))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, gtype, off in infos:
        n = int(np.prod(dims))
        start = base + off
        if gtype == 0:  # F32
            a = np.frombuffer(buf, np.float32, n, start)
        elif gtype == 1:  # F16
            a = np.frombuffer(buf, np.float16, n, start).astype(np.float32)
        elif gtype == 8:  # Q8_0: f16 d, 32 x i8
            blk = np.frombuffer(buf, np.uint8, n // 32 * 34, start).reshape(-1, 34)
            d = blk[:, :2].copy().view(np.float16).astype(np.float32)
            q = blk[:, 2:].copy().view(np.int8).astype(np.float32)
            a = (d * q).reshape(-1)
        elif gtype == 3:  # Q4_1: f16 d, f16 m, 16 bytes (low nibbles: 0..15, high: 16..31)
            blk = np.frombuffer(buf, np.uint8, n // 32 * 20, start).reshape(-1, 20)
            d = blk[:, 0:2].copy().view(np.float16).astype(np.float32)
            m = blk[:, 2:4].copy().view(np.float16).astype(np.float32)
            qs = blk[:, 4:]
            q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
            a = (d * q + m).reshape(-1)
        else:
            raise ValueError(f"{path}: tensor {name} has ggml type {gtype}, not handled")
        # GGUF dims are innermost first; row-major shape is reversed.
        tensors[name] = torch.from_numpy(np.array(a, copy=True).reshape(list(reversed(dims))))
    return meta, tensors


def rope_tables(t, hd, base):
    inv = base ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    ang = torch.arange(t, dtype=torch.float32)[:, None] * inv[None, :]
    return ang.cos(), ang.sin()


def rope(x, cos, sin):
    # Adjacent pairs (2i, 2i+1), as GGUF's permuted llama Q/K rows expect.
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def main():
    gguf, windows_path = sys.argv[1], sys.argv[2]
    threads, repeats, batch, layer = (int(v) for v in sys.argv[3:7])
    torch.set_num_threads(threads)
    meta, w = read_gguf(gguf)
    d = meta["llama.embedding_length"]
    h = meta["llama.attention.head_count"]
    hkv = meta.get("llama.attention.head_count_kv", h)
    hd = d // h
    eps = meta["llama.attention.layer_norm_rms_epsilon"]
    base = meta.get("llama.rope.freq_base", 10000.0)
    windows = torch.tensor(json.load(open(windows_path)), dtype=torch.long)
    n_win, t = windows.shape
    cos, sin = rope_tables(t, hd, base)
    blocks = [{k: w[f"blk.{l}.{k}.weight"] for k in
               ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")}
              for l in range(layer + 1)]
    emb = w["token_embd.weight"]

    def norm(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

    def forward(ids):
        b = ids.shape[0]
        x = emb[ids]
        for p in blocks:
            xn = norm(x, p["attn_norm"])
            q = (xn @ p["attn_q"].T).view(b, t, h, hd).transpose(1, 2)
            k = (xn @ p["attn_k"].T).view(b, t, hkv, hd).transpose(1, 2)
            v = (xn @ p["attn_v"].T).view(b, t, hkv, hd).transpose(1, 2)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            k, v = k.repeat_interleave(h // hkv, 1), v.repeat_interleave(h // hkv, 1)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + a.transpose(1, 2).reshape(b, t, d) @ p["attn_output"].T
            xn = norm(x, p["ffn_norm"])
            x = x + (F.silu(xn @ p["ffn_gate"].T) * (xn @ p["ffn_up"].T)) @ p["ffn_down"].T
        return x

    with torch.inference_mode():
        forward(windows[:batch])
        seconds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for s in range(0, n_win, batch):
                forward(windows[s : s + batch])
            seconds.append(time.perf_counter() - t0)
        residual = forward(windows[:1])
    median = statistics.median(seconds)
    print(json.dumps({
        "torch": torch.__version__,
        "windows": n_win, "seq_len": t, "batch": batch, "threads": threads,
        "blocks_run": layer + 1,
        "repeat_seconds": seconds, "median_seconds": median,
        "tokens_per_second": n_win * t / median,
        "residual_window0_first_row_head": residual[0, 0, :4].tolist(),
    }))


if __name__ == "__main__":
    main()
