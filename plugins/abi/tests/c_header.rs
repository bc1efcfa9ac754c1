//! Keeps `include/rdpbench.h` in sync with `src/lib.rs`: compiles a C program
//! against the header that prints every struct's size and every field's
//! offset, and compares them with the Rust layout. Needs a C compiler (`cc`,
//! or `$CC`).

use rdpbench_abi::*;
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::process::Command;

macro_rules! layout {
    ($map:ident, $rust:ty, $c:literal, [$($field:ident),* $(,)?]) => {{
        $map.insert(format!("{}", $c), size_of::<$rust>());
        $( $map.insert(format!("{}.{}", $c, stringify!($field)), offset_of!($rust, $field)); )*
        let fields: &[&str] = &[$(stringify!($field)),*];
        (format!("{}", $c), fields.iter().map(|f| f.to_string()).collect::<Vec<_>>())
    }};
}

#[test]
fn c_header_matches_rust_layout() {
    let mut rust = BTreeMap::new();
    let structs = vec![
        layout!(rust, RdpStr, "RdpStr", [ptr, len]),
        layout!(rust, RdpString, "RdpString", [ptr, len]),
        layout!(rust, MatrixC, "RdpMatrix", [data, rows, cols]),
        layout!(
            rust,
            CsrC,
            "RdpCsr",
            [indptr, indices, values, n_rows, n_cols, nnz]
        ),
        layout!(
            rust,
            CsrOwnedC,
            "RdpCsrOwned",
            [indptr, indices, values, n_rows, n_cols, nnz]
        ),
        layout!(
            rust,
            MetricInputC,
            "RdpMetricInput",
            [
                struct_size,
                n_tokens,
                d_in,
                d_sae,
                n_concepts,
                decoder,
                encoder,
                activations,
                codes,
                labels,
                concept_directions,
                config,
                per_latent
            ]
        ),
        layout!(
            rust,
            MetricOutputC,
            "RdpMetricOutput",
            [
                kind,
                value,
                per_latent_capacity,
                per_latent,
                per_latent_defined,
                per_latent_len,
                message
            ]
        ),
        layout!(
            rust,
            BatchSourceC,
            "RdpBatchSource",
            [ctx, d_in, next_batch]
        ),
        layout!(rust, ObserverC, "RdpObserver", [ctx, on_progress]),
        layout!(
            rust,
            TrainRequestC,
            "RdpTrainRequest",
            [struct_size, config, data, observer]
        ),
        layout!(
            rust,
            TensorViewC,
            "RdpTensorView",
            [name, shape, ndim, data, len]
        ),
        layout!(
            rust,
            WeightsViewC,
            "RdpWeightsView",
            [cfg_json, tensors, n_tensors]
        ),
        layout!(rust, TensorC, "RdpTensor", [name, shape, ndim, data, len]),
        layout!(rust, WeightsC, "RdpWeights", [cfg_json, tensors, n_tensors]),
        layout!(
            rust,
            PluginDecl,
            "RdpPluginDecl",
            [
                abi_version,
                struct_size,
                sdk_version,
                free_string,
                metric_count,
                metric_spec_json,
                metric_compute,
                metric_free_output,
                sae_count,
                sae_spec_json,
                sae_train,
                sae_free_weights,
                sae_encode,
                sae_free_csr
            ]
        ),
    ];
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"rdpbench.h\"\nint main(void) {\n",
    );
    for (name, fields) in &structs {
        c.push_str(&format!("  printf(\"{name} %zu\\n\", sizeof({name}));\n"));
        for f in fields {
            c.push_str(&format!(
                "  printf(\"{name}.{f} %zu\\n\", offsetof({name}, {f}));\n"
            ));
        }
    }
    c.push_str("  printf(\"RDP_ABI_VERSION %u\\n\", RDP_ABI_VERSION);\n");
    c.push_str("  printf(\"RDP_STATUS %d %d %d\\n\", RDP_STATUS_OK, RDP_STATUS_ERROR, RDP_STATUS_PANIC);\n");
    c.push_str("  return 0;\n}\n");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_header");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror", "-I", include, "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run C compiler `{cc}`: {e}"));
    assert!(status.success(), "the C header does not compile");
    let out = Command::new(&exe).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut seen = 0;
    for line in text.lines() {
        let (key, val) = line.split_once(' ').unwrap();
        if key == "RDP_ABI_VERSION" {
            assert_eq!(val, ABI_VERSION.to_string());
            continue;
        }
        if key == "RDP_STATUS" {
            assert_eq!(val, format!("{STATUS_OK} {STATUS_ERROR} {STATUS_PANIC}"));
            continue;
        }
        let c_val: usize = val.parse().unwrap();
        assert_eq!(
            rust[key], c_val,
            "{key}: Rust says {}, C says {c_val}",
            rust[key]
        );
        seen += 1;
    }
    assert_eq!(seen, rust.len(), "every size and offset was compared");
}
