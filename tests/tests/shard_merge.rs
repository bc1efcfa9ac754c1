//! `--shard i/n` and `rdpbench merge` through the real binary: for the train
//! sweep (4 SAEs), the validity population (8 SAEs), `eval` over 3
//! SAELens folders and `check` over 3 metrics, the merge of every shard
//! count tried (1, 2, 3 and more shards than jobs) writes files
//! byte-identical to the unsharded run in the same results folder: the
//! stage's result files and every file of its folders (SAE folders, the
//! check's case files). A rerun shard skips its recorded jobs; the merge names missing
//! jobs and the shards to rerun, refuses records of another configuration,
//! and stages that cannot be sharded refuse `--shard`.

mod common;

use common::Scratch;
use rdpbench_store::{ResultDir, ResultFile, Stage};
use std::collections::BTreeMap;
use std::path::Path;

/// The validity population of these tests (8 SAEs), after the shared 4-SAE
/// `[train]` sweep ([`common::TRAIN_CONFIG`]).
const VALIDITY_CONFIG: &str = r#"
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

fn config() -> String {
    format!("{}{VALIDITY_CONFIG}", common::TRAIN_CONFIG)
}

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
    std::fs::write(&cfg, config()).unwrap();
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
    std::fs::write(&cfg, config()).unwrap();
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
        (vec!["game", "--shard", "0/2"], "game cannot be sharded"),
        (
            vec!["bench", "--shard", "0/2"],
            "bench cannot be sharded: its results are wall-clock timings",
        ),
        (vec!["merge", "train", "--shard", "0/2"], "takes no --shard"),
    ] {
        let (code, _, stderr) = rdpbench_code(&cfg, &out, &words);
        assert_eq!(code, 2, "{words:?}: {stderr}");
        assert!(stderr.contains(says), "{words:?}: {stderr}");
    }
}

/// A plugin that fails to load (exit 3 unsharded) does not fail a shard:
/// every shard exits 0 and says the merge will report it, so Slurm's
/// `afterok` starts the merge, which returns 3 and writes the same files
/// as the unsharded run.
#[test]
fn plugin_load_errors_do_not_fail_a_shard_and_the_merge_returns_them() {
    let scratch = Scratch::new("shard-load-error");
    let extra = scratch.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    let bad = format!(
        "{}rdpbench_not_a_library{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    std::fs::write(extra.join(&bad), b"not a shared library").unwrap();
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[plugins]\npaths = [\"extra\"]\nbuild_dir = true\n{}",
            common::TRAIN_CONFIG
        ),
    )
    .unwrap();
    let out = scratch.path().join("out");
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &["train"]);
    assert_eq!(code, 3, "unsharded: {stderr}");
    assert!(stderr.contains("rdpbench_not_a_library"), "{stderr}");
    let expected = stage_bytes(&out, Stage::Train);
    std::fs::remove_dir_all(&out).unwrap();
    for shard in ["1/2", "0/2"] {
        let (code, _, stderr) = rdpbench_code(&cfg, &out, &["train", "--shard", shard]);
        assert_eq!(code, 0, "shard {shard}: {stderr}");
        assert!(
            stderr.contains("rdpbench_not_a_library")
                && stderr.contains("`rdpbench merge train` reports them with exit code 3"),
            "shard {shard}: {stderr}"
        );
    }
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &["merge", "train"]);
    assert_eq!(code, 3, "merge: {stderr}");
    assert_same(
        &expected,
        &stage_bytes(&out, Stage::Train),
        "train merged with a load error",
    );
}

fn saelens_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/saelens")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// `rdpbench eval` over 3 SAELens fixture folders (TopK, JumpReLU,
/// standard; 256 tokens of d_in 16), with labels from a `check.json`'s
/// verdicts on each metric column: the merge of 3 shards (and of 5, more
/// than SAEs) writes eval.json and eval.csv byte-identical to the unsharded
/// run in the same folder; a rerun shard evaluates nothing; a missing SAE is
/// named with the shard to rerun; `rdpbench slurm eval --dry-run` forwards
/// the eval options to every array task and to the merge.
#[test]
fn eval_merge_is_byte_identical_for_3_and_5_shards_of_3_saes_and_names_missing_saes() {
    let scratch = Scratch::new("shard-eval");
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(&cfg, config()).unwrap();
    // Verdicts for the metric columns: a small check in its own folder.
    let check_out = scratch.path().join("check");
    rdpbench_ok(&cfg, &check_out, &check_words("mean-firing-density", "C1"));
    let check_json = check_out.join("check.json").to_string_lossy().into_owned();
    let (topk, jumprelu, standard) = (
        saelens_fixture("topk"),
        saelens_fixture("jumprelu"),
        saelens_fixture("standard"),
    );
    let activations = saelens_fixture("activations.npy");
    let eval_words: Vec<&str> = vec![
        "eval",
        "--sae",
        &topk,
        &jumprelu,
        &standard,
        "--activations",
        &activations,
        "--metrics",
        "mean-firing-density,mean-max-decoder-cosine",
        "--resamples",
        "20",
        "--batch-tokens",
        "32",
        "--chunk-rows",
        "100",
        "--check",
        &check_json,
    ];
    let out = scratch.path().join("out");
    rdpbench_ok(&cfg, &out, &eval_words);
    let expected = stage_bytes(&out, Stage::Eval);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        ["eval.csv", "eval.json"]
    );
    let eval_json: serde_json::Value = serde_json::from_slice(&expected["eval.json"]).unwrap();
    let saes = eval_json["saes"].as_array().unwrap();
    assert_eq!(saes.len(), 3);
    // Every metric column carries its check verdicts (the merge adds them).
    assert!(
        saes.iter()
            .all(|s| s["metrics"]["mean-firing-density"]["check"]["total"]
                .as_u64()
                .is_some_and(|n| n >= 1)),
        "{eval_json}"
    );

    for n in [3usize, 5] {
        std::fs::remove_dir_all(&out).unwrap();
        for i in 0..n {
            let shard = format!("{i}/{n}");
            let mut words = eval_words.clone();
            words.extend(["--shard", &shard]);
            let stderr = rdpbench_ok(&cfg, &out, &words);
            let expect = (i + 1) * 3 / n - i * 3 / n;
            assert!(
                stderr.contains(&format!("eval shard {shard}: {expect} SAE(s) evaluated")),
                "{stderr}"
            );
            if i == n - 1 {
                // A rerun shard skips every SAE it recorded.
                let stderr = rdpbench_ok(&cfg, &out, &words);
                assert!(
                    stderr.contains(&format!("0 SAE(s) evaluated, {expect} already recorded")),
                    "{stderr}"
                );
            }
        }
        assert!(!out.join("eval.json").exists() && !out.join("eval.csv").exists());
        let mut words = vec!["merge"];
        words.extend_from_slice(&eval_words);
        rdpbench_ok(&cfg, &out, &words);
        assert_same(
            &expected,
            &stage_bytes(&out, Stage::Eval),
            &format!("eval merged from {n} shard(s)"),
        );
    }

    // Shards 0/3 and 2/3 only: the merge names the JumpReLU SAE and shard 1/3.
    std::fs::remove_dir_all(&out).unwrap();
    for shard in ["0/3", "2/3"] {
        let mut words = eval_words.clone();
        words.extend(["--shard", shard]);
        rdpbench_ok(&cfg, &out, &words);
    }
    let mut words = vec!["merge"];
    words.extend_from_slice(&eval_words);
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &words);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("1 of 3 eval job(s) have no result")
            && stderr.contains("0001-jumprelu")
            && stderr.contains("rerun --shard 1/3"),
        "{stderr}"
    );
    assert!(!out.join("eval.json").exists());
    // Another seed is another plan: its records are refused by name.
    let mut other = words.clone();
    other.extend(["--seed", "7"]);
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &other);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("another configuration") && stderr.contains("0000-topk.json"),
        "{stderr}"
    );

    // Slurm: every array task runs eval with the same options and its
    // shard; the merge runs `merge eval` with them.
    let mut words = vec!["slurm"];
    words.extend_from_slice(&eval_words);
    words.extend(["--tasks", "3", "--dry-run"]);
    let (code, stdout, stderr) = rdpbench_code(&cfg, &out, &words);
    assert_eq!(code, 0, "{stderr}");
    let array = std::fs::read_to_string(out.join("shards/eval/slurm/array.sbatch")).unwrap();
    let merge = std::fs::read_to_string(out.join("shards/eval/slurm/merge.sbatch")).unwrap();
    assert!(
        stdout.contains(&array) && stdout.contains(&merge),
        "{stdout}"
    );
    assert!(array.contains("#SBATCH --array=0-2"), "{array}");
    let tail = format!(
        "'--sae' '{topk}' '{jumprelu}' '{standard}' '--activations' '{activations}' \
         '--metrics' 'mean-firing-density,mean-max-decoder-cosine' '--resamples' '20' \
         '--batch-tokens' '32' '--chunk-rows' '100' '--check' '{check_json}' '--out' '{}'",
        out.display()
    );
    assert!(
        array.contains(&format!(
            "'eval' {tail} --shard \"${{SLURM_ARRAY_TASK_ID}}/3\""
        )),
        "{array}"
    );
    assert!(
        merge.contains(&format!("'merge' 'eval' {tail}\n")),
        "{merge}"
    );
}

/// The check of these tests on `metrics` and `conditions`: one seed, 2000
/// samples. The sharded checks run C1,C6,C7 on METRICS (3 metrics of 3
/// libraries: an oracle that passes, two proxies that fail C6/C7 and are
/// shrunk to case files); CHECK_CONFIG raises the shrink time cap so that
/// only the trial budget ends a search: a search ended by the clock may
/// differ between any two runs, sharded or not (`minimal_cases[].timed_out`).
fn check_words<'a>(metrics: &'a str, conditions: &'a str) -> Vec<&'a str> {
    vec![
        "check",
        "--metrics",
        metrics,
        "--conditions",
        conditions,
        "--seeds",
        "0",
        "--samples",
        "2000",
        "--jobs",
        "1",
    ]
}

const CHECK_CONFIG: &str = "[check]\nshrink_trials = 12\nshrink_seconds = 600.0\n";

/// `rdpbench check --shard 2/3`, `0/3`, `1/3` (scrambled order, each its own
/// process), then `0/3` again (it skips its metric), and `rdpbench merge
/// check`: check.json, check.csv, check.md, check.junit.xml, comparison.json
/// (`--baseline`) and every case file under cases/ are byte-identical to the
/// unsharded check in the same folder, and the merge returns the unsharded
/// exit code (4: `--strict` with failed conditions) where every shard
/// returned 0. A merge with shard 1/3 missing fails, naming its metric and
/// the shard to rerun, and writes nothing.
#[test]
fn check_merge_is_byte_identical_with_case_files_and_the_same_exit_code() {
    let scratch = Scratch::new("shard-check");
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(&cfg, format!("{}{CHECK_CONFIG}", config())).unwrap();
    // A baseline from an earlier run, so that comparison.json is written too.
    let base_out = scratch.path().join("base");
    let strict = [&check_words(METRICS, "C1,C6,C7")[..], &["--strict"]].concat();
    let (code, _, stderr) = rdpbench_code(&cfg, &base_out, &strict);
    assert_eq!(code, 4, "--strict with failed conditions: {stderr}");
    let baseline = scratch.path().join("baseline.json");
    std::fs::copy(base_out.join("check.json"), &baseline).unwrap();
    let mut words = strict.clone();
    let baseline_arg = baseline.to_string_lossy().into_owned();
    words.extend(["--baseline", &baseline_arg]);

    let out = scratch.path().join("out");
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &words);
    assert_eq!(code, 4, "{stderr}");
    let expected = stage_bytes(&out, Stage::Check);
    let check_json: serde_json::Value = serde_json::from_slice(&expected["check.json"]).unwrap();
    let cases: Vec<&serde_json::Value> = check_json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["minimal_cases"].as_array().into_iter().flatten())
        .collect();
    // Real content to compare: failed conditions with case files, none cut by the clock.
    assert!(!cases.is_empty(), "{check_json}");
    assert!(cases.iter().all(|c| c["timed_out"] == false), "{cases:?}");
    let case_files = expected.keys().filter(|p| p.starts_with("cases/")).count();
    assert_eq!(case_files, cases.len(), "{:?}", expected.keys());
    for f in [
        "check.json",
        "check.csv",
        "check.md",
        "check.junit.xml",
        "comparison.json",
    ] {
        assert!(expected.contains_key(f), "{f}: {:?}", expected.keys());
    }

    std::fs::remove_dir_all(&out).unwrap();
    for shard in ["2/3", "0/3", "1/3"] {
        let mut w = words.clone();
        w.extend(["--shard", shard]);
        let (code, _, stderr) = rdpbench_code(&cfg, &out, &w);
        assert_eq!(code, 0, "a shard records; the merge decides: {stderr}");
        assert!(
            stderr.contains(&format!("check shard {shard}: ")),
            "{stderr}"
        );
    }
    // The rerun of 0/3 skipped its metric.
    let (_, _, stderr) = rdpbench_code(&cfg, &out, &[&words[..], &["--shard", "0/3"]].concat());
    assert!(
        stderr.contains("0 metric(s) checked, 1 already recorded, of 3 in all"),
        "{stderr}"
    );
    for f in ResultFile::ALL
        .into_iter()
        .filter(|f| f.stage() == Stage::Check)
    {
        assert!(!out.join(f.path()).exists(), "{}", f.path());
    }
    assert!(!out.join(ResultDir::CheckCases.path()).exists());
    let mut merge = vec!["merge"];
    merge.extend_from_slice(&words);
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &merge);
    assert_eq!(
        code, 4,
        "the merge returns the unsharded exit code: {stderr}"
    );
    assert_same(
        &expected,
        &stage_bytes(&out, Stage::Check),
        "check merged from 3 shards",
    );

    // Shard 1/3 missing: the merge names its metric and the shard to rerun.
    std::fs::remove_dir_all(&out).unwrap();
    for shard in ["0/3", "2/3"] {
        rdpbench_ok(&cfg, &out, &[&words[..], &["--shard", shard]].concat());
    }
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &merge);
    assert_ne!(code, 0);
    assert_ne!(code, 4);
    assert!(
        stderr.contains("1 of 3 check job(s) have no result")
            && stderr.contains("0001-mean-firing-density")
            && stderr.contains("rerun --shard 1/3"),
        "{stderr}"
    );
    assert!(!out.join(ResultFile::CheckJson.path()).exists());
    assert!(!out.join(ResultDir::CheckCases.path()).exists());

    // Slurm: every array task runs the check with its shard, the merge `merge check`.
    let mut slurm = vec!["slurm"];
    slurm.extend_from_slice(&words);
    slurm.extend(["--tasks", "3", "--dry-run"]);
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &slurm);
    assert_eq!(code, 0, "{stderr}");
    let array = std::fs::read_to_string(out.join("shards/check/slurm/array.sbatch")).unwrap();
    let merge_script =
        std::fs::read_to_string(out.join("shards/check/slurm/merge.sbatch")).unwrap();
    assert!(array.contains("#SBATCH --array=0-2"), "{array}");
    assert!(
        array.contains("'check' '--metrics'")
            && array.contains(&format!("'--baseline' '{baseline_arg}'"))
            && array.contains("--shard \"${SLURM_ARRAY_TASK_ID}/3\""),
        "{array}"
    );
    assert!(
        merge_script.contains("'merge' 'check' '--metrics'"),
        "{merge_script}"
    );
}

/// A metric whose call hangs blocks its library; unsharded, its sibling is
/// then re-checked in a child process and, like every metric of a blocked
/// library, not shrunk. As 2 shards the sibling runs in a process where
/// nothing hung and is shrunk; the merge drops those cases because the
/// hung metric's record says it left the library blocked: check.json,
/// .csv, .md and .junit.xml are byte-identical, no case file is written,
/// and the merge returns the unsharded exit code (3: a plugin hung).
#[test]
fn check_merge_of_a_library_blocked_by_a_hang_drops_its_siblings_cases() {
    let scratch = Scratch::new("shard-check-hang");
    let plugins = scratch.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let hangs = common::lib("test_plugin_hangs");
    std::fs::copy(&hangs, plugins.join(hangs.file_name().unwrap())).unwrap();
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        format!(
            "[plugins]\npaths = [\"plugins\"]\nbuild_dir = false\ncall_timeout_secs = 3.0\n{CHECK_CONFIG}"
        ),
    )
    .unwrap();
    let words = check_words("hang-full,healthy-sibling", "C1,C6,C7");
    let out = scratch.path().join("out");
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &words);
    assert_eq!(code, 3, "a hang is a plugin failure: {stderr}");
    let expected = stage_bytes(&out, Stage::Check);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        ["check.csv", "check.json", "check.junit.xml", "check.md"],
        "no case file: the blocked library is not shrunk"
    );

    std::fs::remove_dir_all(&out).unwrap();
    for shard in ["1/2", "0/2"] {
        rdpbench_ok(&cfg, &out, &[&words[..], &["--shard", shard]].concat());
    }
    let record = |job: &str| -> serde_json::Value {
        let p = out.join(format!("shards/check/jobs/{job}.json"));
        serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
    };
    let hung = record("0000-hang-full");
    assert_eq!(hung["result"]["library_blocked"], true, "{hung}");
    let sibling = record("0001-healthy-sibling");
    assert_eq!(sibling["result"]["library_blocked"], false, "{sibling}");
    assert!(
        sibling["result"]["metric"]["minimal_cases"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "the sibling fails a condition and is shrunk in its own shard: {sibling}"
    );
    let mut merge = vec!["merge"];
    merge.extend_from_slice(&words);
    let (code, _, stderr) = rdpbench_code(&cfg, &out, &merge);
    assert_eq!(code, 3, "{stderr}");
    assert_same(
        &expected,
        &stage_bytes(&out, Stage::Check),
        "check with a hung library merged from 2 shards",
    );
}
