//! GGUF reader against files written by the test's own writer, and its errors.

use rdpbench_lm::GgufFile;
use rdpbench_lm::dequant::GgmlType;
use rdpbench_lm::gguf::MetadataValue as V;
use rdpbench_lm::gguf_writer::GgufWriter;

fn sample() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.metadata("general.architecture", V::String("llama".into()))
        .metadata("u8", V::U8(7))
        .metadata("i8", V::I8(-7))
        .metadata("u16", V::U16(700))
        .metadata("i16", V::I16(-700))
        .metadata("u32", V::U32(70_000))
        .metadata("i32", V::I32(-70_000))
        .metadata("f32", V::F32(0.5))
        .metadata("bool", V::Bool(true))
        .metadata("u64", V::U64(1 << 40))
        .metadata("i64", V::I64(-(1 << 40)))
        .metadata("f64", V::F64(-0.125))
        .metadata(
            "tokens",
            V::Array(vec![V::String("a".into()), V::String("Ġb".into())]),
        );
    let x: Vec<f32> = (0..3 * 64).map(|i| i as f32 / 16.0 - 6.0).collect();
    w.tensor("f32.weight", &[3, 64], GgmlType::F32, &x).unwrap();
    // 5 elements: forces padding after this tensor.
    w.tensor("odd", &[5], GgmlType::F16, &[1.0, -2.0, 0.5, 0.25, 8.0])
        .unwrap();
    w.tensor("q8.weight", &[3, 64], GgmlType::Q8_0, &x).unwrap();
    w.tensor("q41.weight", &[3, 64], GgmlType::Q4_1, &x)
        .unwrap();
    w
}

#[test]
fn round_trip_metadata_and_tensors() {
    let g = GgufFile::parse(sample().to_bytes().unwrap(), "sample.gguf").unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.alignment, 32);
    assert_eq!(g.get("i8"), Some(&V::I8(-7)));
    assert_eq!(g.get("i16"), Some(&V::I16(-700)));
    assert_eq!(g.get_u64("u32").unwrap(), 70_000);
    assert_eq!(g.get_u64("u64").unwrap(), 1 << 40);
    assert_eq!(g.get("i64"), Some(&V::I64(-(1 << 40))));
    assert_eq!(g.get_f64("f32").unwrap(), 0.5);
    assert_eq!(g.get_f64("f64").unwrap(), -0.125);
    assert_eq!(g.get("bool"), Some(&V::Bool(true)));
    assert_eq!(g.get_str_array("tokens").unwrap(), vec!["a", "Ġb"]);
    assert_eq!(g.metadata[1].0, "u8", "file order is kept");

    let t = g.tensor("f32.weight").unwrap();
    assert_eq!(t.dims, vec![64, 3], "ggml order: innermost first");
    assert_eq!(t.shape_row_major(), vec![3, 64]);
    let x: Vec<f32> = (0..3 * 64).map(|i| i as f32 / 16.0 - 6.0).collect();
    assert_eq!(g.dequantize("f32.weight").unwrap(), x);
    assert_eq!(
        g.dequantize("odd").unwrap(),
        vec![1.0, -2.0, 0.5, 0.25, 8.0]
    );
    for t in &g.tensors {
        assert_eq!(t.offset % 32, 0, "tensor {} is aligned", t.name);
    }
    // Q8_0: error ≤ half a step of amax/127 per block; Q4_1: half a step of range/15.
    let q8 = g.dequantize_shaped("q8.weight", &[3, 64]).unwrap();
    let q41 = g.dequantize("q41.weight").unwrap();
    for (b, chunk) in x.chunks(32).enumerate() {
        let amax = chunk.iter().fold(0f32, |a, v| a.max(v.abs()));
        let range = chunk.iter().copied().fold(f32::NEG_INFINITY, f32::max) - chunk[0];
        for (j, v) in chunk.iter().enumerate() {
            let i = b * 32 + j;
            assert!(
                (q8[i] - v).abs() <= amax / 127.0 * 0.51 + 1e-2,
                "q8 element {i}"
            );
            assert!(
                (q41[i] - v).abs() <= range / 15.0 * 0.51 + 1e-2,
                "q4_1 element {i}"
            );
        }
    }
    let e = g.dequantize_shaped("q8.weight", &[64, 3]).unwrap_err();
    assert!(
        e.to_string().contains("'q8.weight' has shape [3, 64]"),
        "{e}"
    );
}

fn err(bytes: Vec<u8>) -> String {
    format!("{:#}", GgufFile::parse(bytes, "bad.gguf").unwrap_err())
}

#[test]
fn errors_name_the_problem() {
    let good = sample().to_bytes().unwrap();

    let mut b = good.clone();
    b[0] = b'X';
    assert!(err(b).contains("not a GGUF file"));

    let mut b = good.clone();
    b[4] = 9;
    assert!(err(b).contains("unsupported GGUF version 9"));

    // Cut inside the data section (past the last tensor's padding): it no longer fits.
    let b = good[..good.len() - 40].to_vec();
    let e = err(b);
    assert!(
        e.contains("tensor 'q41.weight'") && e.contains("outside the data section"),
        "{e}"
    );

    // Cut inside the metadata.
    let e = err(good[..60].to_vec());
    assert!(e.contains("truncated") && e.contains("bad.gguf"), "{e}");

    let mut w = GgufWriter::new();
    w.metadata("k", V::U8(1)).metadata("k", V::U8(2));
    assert!(err(w.to_bytes().unwrap()).contains("'k' appears twice"));

    // Unsupported tensor type id: patch Q8_0 (8) to Q6_K (14) in the first tensor info.
    let mut w = GgufWriter::new();
    w.tensor("t", &[32], GgmlType::Q8_0, &[0.0; 32]).unwrap();
    let mut b = w.to_bytes().unwrap();
    let at = 24 + 8 + 1 + 4 + 8; // header, name len, "t", n_dims, dim
    assert_eq!(u32::from_le_bytes(b[at..at + 4].try_into().unwrap()), 8);
    b[at] = 14;
    let e = err(b.clone());
    assert!(e.contains("tensor 't'") && e.contains("Q6_K"), "{e}");

    // Misaligned offset.
    b[at] = 8;
    b[at + 4] = 4;
    assert!(err(b).contains("not a multiple of the alignment 32"));

    // Missing metadata and tensors name the key.
    let g = GgufFile::parse(good, "sample.gguf").unwrap();
    assert!(
        g.get_u64("llama.block_count")
            .unwrap_err()
            .to_string()
            .contains("'llama.block_count' is missing")
    );
    assert!(
        g.get_u64("f32")
            .unwrap_err()
            .to_string()
            .contains("non-negative integer")
    );
    assert!(
        g.tensor("nope")
            .unwrap_err()
            .to_string()
            .contains("tensor 'nope' is missing")
    );
}
