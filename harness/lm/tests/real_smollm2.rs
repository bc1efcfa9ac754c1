//! The real SmolLM2-135M-Instruct (skipped with a message unless
//! scripts/fetch-real-data.sh has run): its GGUF loads with the expected shapes, greedy
//! continuation of "The capital of France is" names Paris, and the perplexity on a fixed
//! Brown passage is that of a working language model.

use rdpbench_lm::{BpeTokenizer, GgufFile, Llama, brown, real_data};

fn load() -> Option<(Llama, BpeTokenizer)> {
    let path = real_data::smollm2_gguf();
    if !path.exists() {
        eprintln!(
            "skipped: {} not found (run scripts/fetch-real-data.sh)",
            path.display()
        );
        return None;
    }
    let g = GgufFile::read(&path).unwrap();
    Some((
        Llama::from_gguf(&g).unwrap(),
        BpeTokenizer::from_gguf(&g).unwrap(),
    ))
}

#[test]
fn smollm2_shapes_greedy_paris_and_brown_perplexity() {
    let Some((llama, tok)) = load() else { return };
    let c = &llama.config;
    assert_eq!(
        (
            c.n_layers,
            c.d_model,
            c.n_heads,
            c.n_kv_heads,
            c.d_ff,
            c.vocab_size
        ),
        (30, 576, 9, 3, 1536, 49152)
    );

    let prompt = tok.encode("The capital of France is");
    let new = llama.generate_greedy(&prompt, 8, Some(tok.eos_id)).unwrap();
    let text = tok.decode(&new);
    assert!(text.contains("Paris"), "greedy continuation: {text:?}");

    let dir = real_data::brown_dir();
    if !dir.exists() {
        eprintln!("skipped perplexity: {} not found", dir.display());
        return;
    }
    let passage = brown::read_passage(&dir, "ca01").unwrap();
    let mut ids = tok.encode(&passage.text);
    ids.truncate(256);
    let (nll, n) = llama.mean_nll(&ids, 256).unwrap();
    assert_eq!(n, 255);
    let ppl = nll.exp();
    // A uniform guess over the vocabulary would score 49152; a unigram model of English
    // several hundred. A working 135M model is far below both.
    assert!(ppl > 1.0 && ppl < 100.0, "Brown ca01 perplexity {ppl}");
}
