//! `--shard i/n` and `rdpbench merge` through the real binary: for the train
//! sweep (4 SAEs) and the validity population (8 SAEs), the merge of every
//! shard count tried (1, 2, 3 and more shards than jobs) writes files
//! byte-identical to the unsharded run in the same results folder: the
//! stage's result files and every file of its SAE folders. A rerun shard
//! skips its recorded jobs; the merge names missing jobs and the shards to
//! rerun, refuses records of another configuration, and stages that cannot
//! be sharded refuse `--shard`.

mod common;

use common::Scratch;
use rdpbench_store::{ResultDir, ResultFile, Stage};
use std::collections::BTreeMap;
use std::path::Path;

const CONFIG: &str = r#"
[train]
architectures = ["topk"]
widths = [16]
seeds = [0, 1]
steps = 100
batch_size = 128
eval_every = 0
eval_samples = 512

[train.sparsity]
topk = [1.0, 3.0]

[validity]
architectures = ["topk"]
q_factors = [0.0, 1.0]
seeds = [0, 1]
d_sae = 16
steps = 100
batch_size = 128
eval_samples = 512
bootstrap_resamples = 100

[validity.sparsity]
topk = [1.0, 3.0]
"#;

const METRICS: &str = "oracle-p-gt,mean-max-decoder-cosine,mean-firing-density";

/// `rdpbench --config CFG STAGE ARGS --out OUT`, which must succeed; returns stderr.
fn rdpbench_ok(cfg: &Path, out: &Path, words: &[&str]) -> String {
    let (code, stdout, stderr) = rdpbench_code(cfg, out, words);
    assert_eq!(
        code, 0,
        "rdpbench {words:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stderr
}

fn rdpbench_code(cfg: &Path, out: &Path, words: &[&str]) -> (i32, String, String) {
    common::run(
        common::rdpbench()
            .arg("--config")
            .arg(cfg)
            .args(words)
            .arg("--out")
            .arg(out),
    )
}

fn walk(dir: &Path, rel: &str, into: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{rel}/{name}");
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), &rel, into);
        } else {
            into.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
}

/// Every result file of `stage` and every file in its folders, by path.
fn stage_bytes(root: &Path, stage: Stage) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for f in ResultFile::ALL.into_iter().filter(|f| f.stage() == stage) {
        if let Ok(b) = std::fs::read(root.join(f.path())) {
            files.insert(f.path().to_string(), b);
        }
    }
    for d in ResultDir::ALL.into_iter().filter(|d| d.stage() == stage) {
        walk(&root.join(d.path()), d.path(), &mut files);
    }
    files
}

fn assert_same(expected: &BTreeMap<String, Vec<u8>>, got: &BTreeMap<String, Vec<u8>>, what: &str) {
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(expected), names(got), "{what}: the same files");
    for (path, bytes) in expected {
        assert!(got[path] == *bytes, "{what}: {path} differs");
    }
}

/// Runs `stage` unsharded, then as 1, 2, … shards (each count `counts`) and
/// the merge, each time in the same (emptied) results folder, comparing bytes.
fn merge_matches_unsharded(stage: Stage, stage_words: &[&str], counts: &[usize], jobs: usize) {
    let scratch = Scratch::new(&format!("shard-{stage}"));
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = scratch.path().join("out");
    rdpbench_ok(&cfg, &out, stage_words);
    let expected = stage_bytes(&out, stage);
    let n_sae = expected.keys().filter(|p| p.ends_with("/cfg.json")).count();
    assert_eq!(n_sae, jobs, "{stage}: one SAE folder per job");
    assert!(expected.len() > 3 * jobs, "{stage}: {:?}", expected.keys());
    for &n in counts {
        std::fs::remove_dir_all(&out).unwrap();
        for i in 0..n {
            let shard = format!("{i}/{n}");
            let mut words = stage_words.to_vec();
            words.extend(["--shard", &shard]);
            let stderr = rdpbench_ok(&cfg, &out, &words);
            let expect_jobs = (i + 1) * jobs / n - i * jobs / n;
            assert!(
                stderr.contains(&format!("shard {shard}: {expect_jobs} ")),
                "{stderr}"
            );
            if i == 0 {
                // A rerun shard skips every job it recorded.
                let stderr = rdpbench_ok(&cfg, &out, &words);
                assert!(
                    stderr.contains(&format!(
                        "0 {}",
                        if stage == Stage::Train {
                            "job(s) run"
                        } else {
                            "SAE(s) run"
                        }
                    )) && stderr.contains(&format!("{expect_jobs} already recorded")),
                    "{stderr}"
                );
            }
        }
        // Before the merge the stage wrote none of its own files.
        for f in ResultFile::ALL.into_iter().filter(|f| f.stage() == stage) {
            assert!(!out.join(f.path()).exists(), "{}", f.path());
        }
        let mut words = vec!["merge"];
        words.extend_from_slice(stage_words);
        rdpbench_ok(&cfg, &out, &words);
        assert_same(
            &expected,
            &stage_bytes(&out, stage),
            &format!("{stage} merged from {n} shard(s)"),
        );
    }
}

#[test]
fn train_merge_is_byte_identical_for_1_2_3_and_5_shards_of_4_jobs() {
    merge_matches_unsharded(Stage::Train, &["train"], &[1, 2, 3, 5], 4);
}

#[test]
fn validity_merge_is_byte_identical_for_1_3_and_9_shards_of_8_saes() {
    merge_matches_unsharded(
        Stage::Validity,
        &["validity", "--metrics", METRICS, "--jobs", "1"],
        &[1, 3, 9],
        8,
    );
}

#[test]
fn merge_names_missing_shards_refuses_other_configurations_and_unshardable_stages() {
    let scratch = Scratch::new("shard-refusals");
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = scratch.path().join("out");
    for shard in ["0/3", "2/3"] {
        rdpbench_ok(&cfg, &out, &["train", "--shard", shard]);
    }
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &["merge", "train"]);
    assert_ne!(code, 0);
    // 4 jobs over 3 shards: 0..1, 1..2, 2..4; shard 1 holds job 1.
    assert!(
        stderr.contains("1 of 4 train job(s) have no result")
            && stderr.contains("topk-w16-k1-s1")
            && stderr.contains("rerun --shard 1/3"),
        "{stderr}"
    );
    assert!(!out.join(ResultFile::TrainJson.path()).exists());
    // Other steps: another job list, so the records are refused by name.
    rdpbench_ok(&cfg, &out, &["train", "--shard", "1/3"]);
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &["merge", "train", "--steps", "101"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("another configuration") && stderr.contains("topk-w16-k1-s0.json"),
        "{stderr}"
    );
    rdpbench_ok(&cfg, &out, &["merge", "train"]);
    assert!(out.join(ResultFile::TrainJson.path()).is_file());

    // Bad --shard values and stages that cannot be sharded: usage errors (exit 2).
    for (words, says) in [
        (vec!["train", "--shard", "3/3"], "below the count"),
        (vec!["check", "--shard", "0/2"], "check cannot be sharded"),
        (vec!["bench", "--shard", "0/2"], "bench cannot be sharded"),
        (vec!["merge", "train", "--shard", "0/2"], "takes no --shard"),
    ] {
        let (code, _, stderr) = rdpbench_code(&cfg, &out, &words);
        assert_eq!(code, 2, "{words:?}: {stderr}");
        assert!(stderr.contains(says), "{words:?}: {stderr}");
    }
}
