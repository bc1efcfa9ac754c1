"""Prompt-processing throughput of llama.cpp (llama-cpp-python) on token windows
written by `rdpbench lm bench-forward --dump-windows`.

Each window is evaluated from an empty KV cache (as rdpbench runs every window from
position 0), with n_batch = n_ubatch = the window length, so one window is one
ubatch: llama.cpp's prompt processing (all blocks; logits only for the last token,
logits_all=False). Prints one JSON object on stdout.

Usage: python bench_extraction_llamacpp.py GGUF WINDOWS_JSON THREADS REPEATS
"""

import json
import statistics
import sys
import time

import llama_cpp


def main() -> None:
    gguf, windows_path, threads, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(windows_path) as f:
        windows = json.load(f)
    seq_len = len(windows[0])
    if any(len(w) != seq_len for w in windows):
        raise SystemExit(f"{windows_path}: windows of unequal length")
    llm = llama_cpp.Llama(
        model_path=gguf,
        n_ctx=seq_len,
        n_batch=seq_len,
        n_ubatch=seq_len,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=False,
        verbose=False,
    )

    def run_all() -> None:
        for w in windows:
            llm.reset()
            llm.eval(w)

    llm.reset()
    llm.eval(windows[0])  # warm-up
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_all()
        seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds)
    tokens = len(windows) * seq_len
    print(
        json.dumps(
            {
                "llama_cpp_python": llama_cpp.__version__,
                "system_info": llama_cpp.llama_print_system_info().decode(),
                "windows": len(windows),
                "seq_len": seq_len,
                "threads": threads,
                "blocks_run": llm.metadata.get("llama.block_count"),
                "repeat_seconds": seconds,
                "median_seconds": median,
                "tokens_per_second": tokens / median,
            }
        )
    )


if __name__ == "__main__":
    main()
