//! `rdpbench slurm` on a real single-node Slurm (Debian's slurmctld, slurmd,
//! slurm-client and munge, started by `scripts/slurm-local.sh`, which installs
//! them by name when missing and is stopped at the end): a 4-SAE train sweep
//! as a 3-task job array plus an afterok merge. Shard 1 fails (its job's
//! record file is corrupt, a real error path), so the merge never runs;
//! `slurm status` names shard 1; after the file is removed, `slurm resubmit`
//! runs shard 1 alone and the merge, and the results are byte-identical to
//! the local, unsharded run in the same folder.
//!
//! Without a usable Slurm (not root, no apt-get) the test is skipped with a
//! message, unless `CI=true`: then it fails instead. Every wait is bounded.

mod common;

use common::Scratch;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-local.sh")
}

/// Stops the cluster on drop (also when an assertion fails).
struct Cluster;

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").status();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Waits until none of `ids` is pending, running or completing (bounded).
fn wait_for(ids: &[&str], limit: Duration) {
    let start = Instant::now();
    loop {
        let out = Command::new("timeout")
            .args(["20", "squeue", "-h", "-t", "PD,R,CG,S,CF", "-o", "%i", "-j"])
            .arg(ids.join(","))
            .output()
            .expect("squeue runs");
        if out.status.success() && String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "jobs {ids:?} still queued after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn rdpbench(cfg: &Path, words: &[&str]) -> (i32, String, String) {
    common::run(
        common::rdpbench()
            .arg("--config")
            .arg(cfg)
            .args(words)
            .current_dir(cfg.parent().unwrap()),
    )
}

fn ok(cfg: &Path, words: &[&str]) -> String {
    let (code, stdout, stderr) = rdpbench(cfg, words);
    assert_eq!(code, 0, "{words:?}\n{stdout}\n{stderr}");
    stdout
}

/// The number after `word ` in `text` (e.g. `array job 12`).
fn id_after<'a>(text: &'a str, word: &str) -> &'a str {
    let at = text
        .find(word)
        .unwrap_or_else(|| panic!("no `{word}` in {text}"))
        + word.len();
    text[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
}

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, into: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
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
    let mut m = BTreeMap::new();
    walk(&root.join("saes"), "saes", &mut m);
    m
}

#[test]
fn train_sweep_through_sbatch_array_matches_local_and_a_failed_shard_is_resubmitted() {
    let started = Instant::now();
    let up = Command::new(script()).arg("start").output();
    let usable = matches!(&up, Ok(o) if o.status.success());
    if !usable {
        let why = match &up {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        assert!(!in_ci(), "CI=true: a local Slurm must start: {why}");
        eprintln!("skipped: no local Slurm could be started (needs root and apt-get): {why}");
        return;
    }
    let _cluster = Cluster;
    let cluster_secs = started.elapsed().as_secs_f64();

    let scratch = Scratch::new("slurm");
    let cfg = scratch.path().join("cfg.toml");
    std::fs::write(&cfg, common::TRAIN_CONFIG).unwrap();
    let out = scratch.path().join("out");
    let out_s = out.to_str().unwrap();

    let t = Instant::now();
    ok(&cfg, &["train", "--out", out_s]);
    let local_secs = t.elapsed().as_secs_f64();
    let expected = files(&out);
    assert_eq!(
        expected.keys().filter(|p| p.ends_with("/cfg.json")).count(),
        4
    );
    std::fs::remove_dir_all(&out).unwrap();

    // A clean run: 3 array tasks and the merge, identical to the local run.
    let t = Instant::now();
    let submitted = ok(&cfg, &["slurm", "train", "--tasks", "3", "--out", out_s]);
    let array = id_after(&submitted, "array job").to_string();
    let merge = id_after(&submitted, "merge job").to_string();
    wait_for(&[&array, &merge], Duration::from_secs(300));
    let slurm_secs = t.elapsed().as_secs_f64();
    let got = files(&out);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "{}",
        std::fs::read_to_string(out.join("shards/train/slurm/logs/merge.out")).unwrap_or_default()
    );
    for (p, b) in &expected {
        assert!(got[p] == *b, "{p} differs from the local run");
    }
    std::fs::remove_dir_all(&out).unwrap();

    // Shard 1 of 3 holds job 1 (`topk-w16-k1-s1`); a corrupt record of it
    // makes that array task fail.
    let bad = out.join("shards/train/jobs/topk-w16-k1-s1.json");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, "not a record").unwrap();

    let t = Instant::now();
    let submitted = ok(&cfg, &["slurm", "train", "--tasks", "3", "--out", out_s]);
    let array = id_after(&submitted, "array job").to_string();
    let merge = id_after(&submitted, "merge job").to_string();
    assert!(submitted.contains(out_s), "{submitted}");
    wait_for(&[&array, &merge], Duration::from_secs(300));
    let failed_secs = t.elapsed().as_secs_f64();

    // The merge never ran: no sweep files, no merge log.
    assert!(!out.join("saes/train.json").exists());
    assert!(!out.join("shards/train/slurm/logs/merge.out").exists());
    let status = ok(&cfg, &["slurm", "status", "--out", out_s]);
    assert!(status.contains("shard 0/3: done"), "{status}");
    assert!(
        status.contains("shard 1/3: MISSING (slurm: FAILED"),
        "{status}"
    );
    assert!(status.contains("shard 2/3: done"), "{status}");
    assert!(status.contains("resubmit shard(s) 1 "), "{status}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&cfg, &["slurm", "status", "--out", out_s, "--json"])).unwrap();
    assert_eq!(json[0]["missing"], serde_json::json!([1]));
    assert_eq!(json[0]["merged"], false);
    let log = std::fs::read_to_string(out.join("shards/train/slurm/logs/shard-1.out")).unwrap();
    assert!(log.contains("topk-w16-k1-s1.json"), "{log}");

    // Fix the cause, resubmit only the missing shard: the run completes.
    std::fs::remove_file(&bad).unwrap();
    let t = Instant::now();
    let again = ok(&cfg, &["slurm", "resubmit", "train", "--out", out_s]);
    assert!(again.contains("shard(s) [1]"), "{again}");
    let array2 = id_after(&again, "array job").to_string();
    let merge2 = id_after(&again, "merge job").to_string();
    wait_for(&[&array2, &merge2], Duration::from_secs(300));
    let resubmit_secs = t.elapsed().as_secs_f64();
    let json: serde_json::Value =
        serde_json::from_str(&ok(&cfg, &["slurm", "status", "--out", out_s, "--json"])).unwrap();
    assert_eq!(json[0]["missing"], serde_json::json!([]), "{json}");
    assert_eq!(json[0]["merged"], true, "{json}");
    let got = files(&out);
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (p, b) in &expected {
        assert!(got[p] == *b, "{p} differs from the local run");
    }
    eprintln!(
        "slurm timings: cluster up {cluster_secs:.1} s; local sweep {local_secs:.1} s; \
         through sbatch (3 tasks + merge) {slurm_secs:.1} s; 3-task array with one failed shard {failed_secs:.1} s; resubmitted shard + merge {resubmit_secs:.1} s"
    );
}
