//! The store's properties: atomic writes, the folder lock, staged commits,
//! crash recovery, vouching, run resets and error messages.

mod common;

use common::{TempDir, all_files};
use rdpbench_store::{
    EXIT_RESULTS_FOLDER_IN_USE, LOCK_FILE, MANIFEST_FILE, Manifest, ResultDir, ResultFile,
    STAGING_DIR, Stage, Status, Store, StoreError, StoreReader, write_atomic,
};
use std::fs;

fn commit_check(store: &mut Store, json: &str) {
    let mut w = store.begin(Stage::Check).unwrap();
    w.write(ResultFile::CheckJson, json.as_bytes()).unwrap();
    w.write(ResultFile::CheckCsv, b"metric,condition\n")
        .unwrap();
    w.commit().unwrap();
}

#[test]
fn write_atomic_leaves_only_the_content() {
    let t = TempDir::new("atomic");
    let p = t.path().join("x.json");
    write_atomic(&p, b"{\"a\":1}").unwrap();
    write_atomic(&p, b"{\"a\":2}").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"{\"a\":2}");
    assert_eq!(all_files(t.path()), vec!["x.json"]);
}

#[test]
fn write_atomic_error_names_the_file_and_leaves_no_temp() {
    let t = TempDir::new("atomic-err");
    let p = t.path().join("missing-folder").join("x.json");
    let e = write_atomic(&p, b"{}").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("missing-folder"), "{msg}");
    // Renaming onto an existing folder fails after the temp file was written: it is removed.
    fs::create_dir(t.path().join("d")).unwrap();
    fs::write(t.path().join("d").join("keep"), b"").unwrap();
    let e = write_atomic(&t.path().join("d"), b"{}").unwrap_err();
    assert!(
        e.to_string()
            .contains(&t.path().join("d").display().to_string()),
        "{e}"
    );
    assert_eq!(all_files(t.path()), vec!["d/keep"]);
}

#[test]
fn second_open_fails_at_once_with_locked_naming_the_folder() {
    let t = TempDir::new("lock");
    let first = Store::open(t.path(), "rdpbench check --out X").unwrap();
    let started = std::time::Instant::now();
    let e = Store::open(t.path(), "rdpbench run").unwrap_err();
    assert!(
        started.elapsed().as_secs_f64() < 1.0,
        "did not fail at once"
    );
    assert!(e.is_locked(), "{e:?}");
    assert_eq!(e.exit_code(), Some(EXIT_RESULTS_FOLDER_IN_USE));
    assert_eq!(EXIT_RESULTS_FOLDER_IN_USE, 6);
    let msg = e.to_string();
    assert!(msg.contains(&t.path().display().to_string()), "{msg}");
    assert!(msg.contains("in use"), "{msg}");
    // The holder's pid and command are shown.
    assert!(msg.contains("rdpbench check --out X"), "{msg}");
    assert!(msg.contains(&std::process::id().to_string()), "{msg}");
    drop(first);
    // Released on drop.
    Store::open(t.path(), "rdpbench run").unwrap();
}

#[test]
fn lock_conflicts_across_processes() {
    // A child process (this test binary, in the `lock_holder` role) takes
    // the lock and waits; the parent must be refused while it lives.
    if let Ok(dir) = std::env::var("RDPBENCH_STORE_LOCK_HOLDER") {
        let _s = Store::open(dir.as_ref(), "holder").unwrap();
        use std::io::Write;
        let mut out = std::io::stdout();
        writeln!(out, "LOCKED").unwrap();
        out.flush().unwrap();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        return;
    }
    use std::io::{BufRead, Write};
    let t = TempDir::new("lock-proc");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lock_conflicts_across_processes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RDPBENCH_STORE_LOCK_HOLDER", t.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("LOCKED") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before locking"
        );
    }
    let e = Store::open(t.path(), "parent").unwrap_err();
    assert!(e.is_locked(), "{e}");
    assert!(e.to_string().contains("holder"), "{e}");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    child.wait().unwrap();
    Store::open(t.path(), "parent").unwrap();
}

#[test]
fn staged_files_are_invisible_until_commit() {
    let t = TempDir::new("staged");
    let mut store = Store::open(t.path(), "rdpbench check").unwrap();
    let mut w = store.begin(Stage::Check).unwrap();
    w.write(ResultFile::CheckJson, b"{\"v\":1}").unwrap();
    assert!(!t.path().join("check.json").exists());
    assert!(!t.path().join(MANIFEST_FILE).exists());
    w.commit().unwrap();
    assert_eq!(fs::read(t.path().join("check.json")).unwrap(), b"{\"v\":1}");
    assert!(!t.path().join(STAGING_DIR).exists());
    assert_eq!(
        store.read_vouched(ResultFile::CheckJson).unwrap().unwrap(),
        b"{\"v\":1}"
    );
    // run.json on disk is what the store holds.
    let m = Manifest::parse(&fs::read(t.path().join(MANIFEST_FILE)).unwrap(), t.path()).unwrap();
    assert_eq!(&m, store.manifest());
    assert_eq!(m.status(Stage::Check), Status::Ok);
    assert_eq!(m.status(Stage::Train), Status::NotRun);
    let rec = m.stage(Stage::Check).vouched("check.json").unwrap();
    assert_eq!(rec.bytes, 7);
    assert_eq!(rec.sha256.len(), 64);
}

#[test]
fn a_crash_before_commit_keeps_the_old_run_and_the_next_open_cleans_up() {
    let t = TempDir::new("crash");
    {
        let mut store = Store::open(t.path(), "rdpbench check").unwrap();
        commit_check(&mut store, "{\"run\":1}");
    }
    let old_manifest = fs::read(t.path().join(MANIFEST_FILE)).unwrap();
    {
        let mut store = Store::open(t.path(), "rdpbench check").unwrap();
        let mut w = store.begin(Stage::Check).unwrap();
        w.write(ResultFile::CheckJson, b"{\"run\":2}").unwrap();
        // Simulate a kill: the writer's staging folder stays behind.
        std::mem::forget(w);
        assert!(t.path().join(STAGING_DIR).is_dir());
        // Plus junk a killed process could leave: a half-written staged
        // file with a half-written journal, and a temp file of run.json.
        let junk = t.path().join(STAGING_DIR).join("check-999.0");
        fs::create_dir_all(junk.join("files")).unwrap();
        fs::write(junk.join("files/check.json"), b"{\"run\":").unwrap();
        fs::write(junk.join("commit.json"), b"{\"files\":[\"check.js").unwrap();
        fs::write(t.path().join(".run.json.rdpbench-tmp.999.0"), b"{").unwrap();
    }
    assert_eq!(
        fs::read(t.path().join("check.json")).unwrap(),
        b"{\"run\":1}"
    );
    assert_eq!(
        fs::read(t.path().join(MANIFEST_FILE)).unwrap(),
        old_manifest
    );
    let store = Store::open(t.path(), "rdpbench check").unwrap();
    assert!(!t.path().join(STAGING_DIR).exists());
    assert_eq!(
        all_files(t.path()),
        vec![LOCK_FILE, "check.csv", "check.json", MANIFEST_FILE]
    );
    assert_eq!(
        store.read_vouched(ResultFile::CheckJson).unwrap().unwrap(),
        b"{\"run\":1}"
    );
}

#[test]
fn dropping_a_writer_discards_its_staging() {
    let t = TempDir::new("drop");
    let mut store = Store::open(t.path(), "c").unwrap();
    {
        let mut w = store.begin(Stage::Check).unwrap();
        w.write(ResultFile::CheckJson, b"{}").unwrap();
    }
    assert!(!t.path().join(STAGING_DIR).exists());
    assert!(!t.path().join("check.json").exists());
    assert_eq!(store.manifest().status(Stage::Check), Status::NotRun);
}

#[test]
fn a_journaled_commit_cut_short_is_finished_by_the_next_open() {
    // Build the state a kill between "journal written" and "manifest
    // written" leaves: make a real commit, then roll the folder back by
    // hand to the middle of it.
    let t = TempDir::new("rollforward");
    {
        let mut store = Store::open(t.path(), "c").unwrap();
        commit_check(&mut store, "{\"run\":1}");
    }
    let m1 = fs::read(t.path().join(MANIFEST_FILE)).unwrap();
    // A second commit, captured: copy its staging before commit by staging
    // by hand in the same layout the store uses.
    let staging = t.path().join(STAGING_DIR).join("check-1.0");
    fs::create_dir_all(staging.join("files")).unwrap();
    fs::write(staging.join("files/check.json"), b"{\"run\":2}").unwrap();
    // check.csv was already moved into place before the "kill".
    fs::write(t.path().join("check.csv"), b"run2\n").unwrap();
    let mut m2 = Manifest::parse(&m1, t.path()).unwrap();
    let sha = |b: &[u8]| {
        use sha2::Digest;
        sha2::Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let rec = m2.stages.get_mut(&Stage::Check).unwrap();
    rec.files = vec![
        rdpbench_store::FileRecord {
            path: "check.csv".into(),
            sha256: sha(b"run2\n"),
            bytes: 5,
        },
        rdpbench_store::FileRecord {
            path: "check.json".into(),
            sha256: sha(b"{\"run\":2}"),
            bytes: 9,
        },
    ];
    let journal = serde_json::json!({"files": ["check.csv", "check.json"], "manifest": m2});
    fs::write(
        staging.join("commit.json"),
        serde_json::to_vec(&journal).unwrap(),
    )
    .unwrap();

    let store = Store::open(t.path(), "c").unwrap();
    assert!(!t.path().join(STAGING_DIR).exists());
    assert_eq!(
        store.read_vouched(ResultFile::CheckJson).unwrap().unwrap(),
        b"{\"run\":2}"
    );
    assert_eq!(
        store.read_vouched(ResultFile::CheckCsv).unwrap().unwrap(),
        b"run2\n"
    );
}

#[test]
fn read_vouched_refuses_changed_bytes_failed_and_never_run_stages() {
    let t = TempDir::new("vouch");
    let mut store = Store::open(t.path(), "c").unwrap();
    commit_check(&mut store, "{\"v\":1}");
    // Never ran.
    assert!(store.read_vouched(ResultFile::TrainJson).unwrap().is_none());
    // A file no stage wrote, present on disk.
    fs::write(t.path().join("rdp.json"), b"{}").unwrap();
    assert!(store.read_vouched(ResultFile::RdpJson).unwrap().is_none());
    // Changed after commit (same length, other bytes).
    fs::write(t.path().join("check.json"), b"{\"v\":2}").unwrap();
    assert!(store.read_vouched(ResultFile::CheckJson).unwrap().is_none());
    assert_eq!(
        store.verify_stage(Stage::Check).unwrap(),
        vec!["check.json"]
    );
    // Recommit, then fail: the old file stays on disk but is not vouched.
    commit_check(&mut store, "{\"v\":3}");
    assert!(store.read_vouched(ResultFile::CheckJson).unwrap().is_some());
    let w = store.begin(Stage::Check).unwrap();
    w.fail("plugin crashed").unwrap();
    assert!(t.path().join("check.json").exists());
    assert!(store.read_vouched(ResultFile::CheckJson).unwrap().is_none());
    let r = StoreReader::open(t.path()).unwrap();
    assert!(r.has_manifest());
    assert_eq!(r.manifest().status(Stage::Check), Status::Failed);
    assert_eq!(
        r.manifest().stage(Stage::Check).reason.as_deref(),
        Some("plugin crashed")
    );
    assert!(r.read_vouched(ResultFile::CheckJson).unwrap().is_none());
    assert_eq!(
        r.manifest().stage(Stage::Check).summary(),
        "failed: plugin crashed"
    );
    assert_eq!(r.manifest().stage(Stage::Train).summary(), "not run");
}

#[test]
fn read_vouched_json_parses_or_names_the_file() {
    let t = TempDir::new("json");
    let mut store = Store::open(t.path(), "c").unwrap();
    let mut w = store.begin(Stage::Check).unwrap();
    w.write(ResultFile::CheckJson, b"{\"a\": 1}").unwrap();
    w.write(ResultFile::CheckComparison, b"not json").unwrap();
    w.commit().unwrap();
    let v: serde_json::Value = store
        .read_vouched_json(ResultFile::CheckJson)
        .unwrap()
        .unwrap();
    assert_eq!(v["a"], 1);
    let e = store
        .read_vouched_json::<serde_json::Value>(ResultFile::CheckComparison)
        .unwrap_err();
    assert!(e.to_string().contains("comparison.json"), "{e}");
    assert!(
        store
            .read_vouched_json::<serde_json::Value>(ResultFile::RdpJson)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_standalone_stage_keeps_other_stages_entries() {
    let t = TempDir::new("standalone");
    let mut store = Store::open(t.path(), "rdpbench check").unwrap();
    commit_check(&mut store, "{}");
    drop(store);
    let mut store = Store::open(t.path(), "rdpbench reproduce rdp").unwrap();
    let mut w = store.begin(Stage::Rdp).unwrap();
    w.write(ResultFile::RdpJson, b"[]").unwrap();
    w.commit().unwrap();
    let m = store.manifest();
    assert_eq!(m.status(Stage::Check), Status::Ok);
    assert_eq!(
        m.stage(Stage::Check).command.as_deref(),
        Some("rdpbench check")
    );
    assert_eq!(
        m.stage(Stage::Rdp).command.as_deref(),
        Some("rdpbench reproduce rdp")
    );
    assert!(store.read_vouched(ResultFile::CheckJson).unwrap().is_some());
    assert!(store.read_vouched(ResultFile::RdpJson).unwrap().is_some());
}

#[test]
fn a_run_reset_marks_every_other_stage_not_run() {
    let t = TempDir::new("reset");
    let mut store = Store::open(t.path(), "rdpbench check").unwrap();
    commit_check(&mut store, "{}");
    let mut w = store.begin(Stage::Rdp).unwrap();
    w.write(ResultFile::RdpJson, b"[]").unwrap();
    w.commit().unwrap();
    drop(store);
    let mut store = Store::open(t.path(), "rdpbench run --skip bench").unwrap();
    store.start_run(&[Stage::Bench]).unwrap();
    for s in Stage::ALL {
        let want = if s == Stage::Bench {
            Status::Skipped
        } else {
            Status::NotRun
        };
        assert_eq!(store.manifest().status(s), want, "{s}");
    }
    assert!(store.read_vouched(ResultFile::CheckJson).unwrap().is_none());
    assert!(store.read_vouched(ResultFile::RdpJson).unwrap().is_none());
    commit_check(&mut store, "{\"new\":1}");
    store
        .mark(Stage::Real, Status::Skipped, "no --real-cache")
        .unwrap();
    let r = StoreReader::open(t.path()).unwrap();
    assert_eq!(r.manifest().status(Stage::Check), Status::Ok);
    assert_eq!(r.manifest().status(Stage::Rdp), Status::NotRun);
    assert_eq!(r.manifest().status(Stage::Real), Status::Skipped);
    assert!(r.manifest().run_started.is_some());
    assert!(r.read_vouched(ResultFile::RdpJson).unwrap().is_none());
    assert_eq!(
        r.read_vouched(ResultFile::CheckJson).unwrap().unwrap(),
        b"{\"new\":1}"
    );
}

#[test]
fn a_stage_may_only_write_its_own_files() {
    let t = TempDir::new("owner");
    let mut store = Store::open(t.path(), "c").unwrap();
    let mut w = store.begin(Stage::Check).unwrap();
    let e = w.write(ResultFile::TrainJson, b"{}").unwrap_err();
    assert!(matches!(e, StoreError::WrongStage { .. }), "{e}");
    assert!(e.to_string().contains("saes/train.json"), "{e}");
    assert!(
        w.write_in(ResultDir::TrainSaes, "a/eval.json", b"{}")
            .is_err()
    );
}

#[test]
fn folders_commit_at_once_resume_keeps_them_and_the_stage_vouches_for_them() {
    let t = TempDir::new("folders");
    let mut store = Store::open(t.path(), "rdpbench train").unwrap();
    {
        let mut w = store.begin(Stage::Train).unwrap();
        let p = w
            .commit_folder(
                ResultDir::TrainSaes,
                "job-a",
                &[
                    ("cfg.json", b"{\"a\":1}"),
                    ("sae_weights.safetensors", b"WEIGHTS"),
                ],
            )
            .unwrap();
        assert_eq!(p, t.path().join("saes/job-a"));
        // In place at once, before the stage commits (a kill now keeps it).
        assert_eq!(fs::read(p.join("cfg.json")).unwrap(), b"{\"a\":1}");
        std::mem::forget(w); // killed mid-sweep
    }
    drop(store);
    let mut store = Store::open(t.path(), "rdpbench train").unwrap();
    assert!(
        t.path()
            .join("saes/job-a/sae_weights.safetensors")
            .is_file()
    );
    let mut w = store.begin(Stage::Train).unwrap();
    // Resume: job-a is kept, job-b trained; eval.json is (re)written per job.
    w.keep_folder(ResultDir::TrainSaes, "job-a").unwrap();
    w.commit_folder(ResultDir::TrainSaes, "job-b", &[("cfg.json", b"{\"b\":1}")])
        .unwrap();
    w.write_in(ResultDir::TrainSaes, "job-a/eval.json", b"{\"ev\":0.9}")
        .unwrap();
    w.write(ResultFile::TrainJson, b"{\"jobs\":2}").unwrap();
    // Replacing a folder drops files it no longer has.
    w.commit_folder(ResultDir::TrainSaes, "job-b", &[("cfg.json", b"{\"b\":2}")])
        .unwrap();
    w.commit().unwrap();
    let paths: Vec<&str> = store
        .manifest()
        .stage(Stage::Train)
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        paths,
        vec![
            "saes/job-a/cfg.json",
            "saes/job-a/eval.json",
            "saes/job-a/sae_weights.safetensors",
            "saes/job-b/cfg.json",
            "saes/train.json"
        ]
    );
    assert_eq!(
        store
            .read_vouched_path("saes/job-b/cfg.json")
            .unwrap()
            .unwrap(),
        b"{\"b\":2}"
    );
    assert!(store.verify_stage(Stage::Train).unwrap().is_empty());
    // A hidden scratch folder (the SDK's checkpoints) is never vouched for.
    let mut w = store.begin(Stage::Train).unwrap();
    let saes = w.dir_for_tool(ResultDir::TrainSaes).unwrap();
    fs::create_dir_all(saes.join(".partial/job-c")).unwrap();
    fs::write(saes.join(".partial/job-c/state"), b"x").unwrap();
    w.adopt_tree(ResultDir::TrainSaes).unwrap();
    w.commit().unwrap();
    assert!(
        store
            .manifest()
            .stage(Stage::Train)
            .files
            .iter()
            .all(|f| !f.path.contains(".partial"))
    );
}

#[test]
fn bad_names_are_refused() {
    let t = TempDir::new("names");
    let mut store = Store::open(t.path(), "c").unwrap();
    let mut w = store.begin(Stage::Train).unwrap();
    for bad in ["../escape", "/abs", ".hidden", ""] {
        let e = w
            .commit_folder(ResultDir::TrainSaes, bad, &[("cfg.json", b"{}")])
            .unwrap_err();
        assert!(matches!(e, StoreError::BadName { .. }), "{bad}: {e}");
    }
    assert!(!t.path().join("escape").exists());
}

#[test]
fn io_errors_name_the_path() {
    let t = TempDir::new("io");
    let file = t.path().join("not-a-folder");
    fs::write(&file, b"x").unwrap();
    let e = Store::open(&file, "c").unwrap_err();
    assert!(matches!(e, StoreError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");
    let e = StoreReader::open(&t.path().join("nowhere")).unwrap_err();
    assert!(e.to_string().contains("nowhere"), "{e}");
    // A corrupt run.json is refused, named, not silently replaced.
    let d = t.path().join("corrupt");
    fs::create_dir(&d).unwrap();
    fs::write(d.join(MANIFEST_FILE), b"{not json").unwrap();
    let e = Store::open(&d, "c").unwrap_err();
    assert!(
        e.to_string()
            .contains(&d.join(MANIFEST_FILE).display().to_string()),
        "{e}"
    );
    assert_eq!(fs::read(d.join(MANIFEST_FILE)).unwrap(), b"{not json");
}

#[test]
fn run_stage_commits_on_ok_and_records_the_error_on_err() {
    let t = TempDir::new("run-stage");
    let mut store = Store::open(t.path(), "rdpbench run").unwrap();
    let v: Result<u32, Box<dyn std::error::Error>> = store.run_stage(Stage::Check, |w| {
        w.write(ResultFile::CheckJson, b"{}")?;
        Ok(7)
    });
    assert_eq!(v.unwrap(), 7);
    let e: Result<(), Box<dyn std::error::Error>> = store.run_stage(Stage::Rdp, |w| {
        w.write(ResultFile::RdpJson, b"{}")?;
        Err("SAE training diverged".into())
    });
    assert!(e.is_err());
    assert!(!t.path().join("rdp.json").exists());
    let m = store.manifest();
    assert_eq!(m.status(Stage::Check), Status::Ok);
    assert_eq!(m.status(Stage::Rdp), Status::Failed);
    assert_eq!(
        m.stage(Stage::Rdp).reason.as_deref(),
        Some("SAE training diverged")
    );
}

#[test]
fn the_registry_is_consistent() {
    use std::collections::HashSet;
    let mut seen = HashSet::new();
    for f in ResultFile::ALL {
        assert!(seen.insert(f.path()), "duplicate {}", f.path());
        assert_eq!(ResultFile::from_path(f.path()), Some(f));
        assert!(f.stage().files().any(|g| g == f));
    }
    for s in Stage::ALL {
        assert_eq!(Stage::parse(s.name()), Some(s));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!("\"{}\"", s.name())
        );
    }
    assert_eq!(Stage::parse("real-bench"), Some(Stage::RealBench));
    // A sweep writes its summary with `write_in(dir, "train.json")`; for
    // the train stage that is exactly the registry's TrainJson.
    assert_eq!(
        ResultFile::TrainJson.path(),
        format!("{}/train.json", ResultDir::TrainSaes.path())
    );
    assert_eq!(
        ResultFile::TrainCsv.path(),
        format!("{}/train.csv", ResultDir::TrainSaes.path())
    );
    assert_eq!(Stage::parse("nope"), None);
    // Every stage but report owns a file; the big-output stages own folders.
    assert_eq!(
        Stage::Train.dirs().collect::<Vec<_>>(),
        vec![ResultDir::TrainSaes]
    );
}

#[test]
fn replacing_a_vouched_folder_retracts_the_stage_and_a_crash_reads_as_interrupted() {
    let t = TempDir::new("retract");
    let mut store = Store::open(t.path(), "rdpbench train").unwrap();
    let mut w = store.begin(Stage::Train).unwrap();
    w.commit_folder(ResultDir::TrainSaes, "job-a", &[("cfg.json", b"{\"v\":1}")])
        .unwrap();
    w.write(ResultFile::TrainJson, b"{\"v\":1}").unwrap();
    w.commit().unwrap();
    let mut w = store.begin(Stage::Train).unwrap();
    w.commit_folder(ResultDir::TrainSaes, "job-a", &[("cfg.json", b"{\"v\":2}")])
        .unwrap();
    std::mem::forget(w); // killed before the stage commits
    drop(store);
    let on_disk = StoreReader::open(t.path()).unwrap();
    assert_eq!(on_disk.manifest().status(Stage::Train), Status::Running);
    assert!(
        on_disk
            .read_vouched(ResultFile::TrainJson)
            .unwrap()
            .is_none()
    );
    let store = Store::open(t.path(), "rdpbench report").unwrap();
    let rec = store.manifest().stage(Stage::Train);
    assert_eq!(rec.status, Status::Failed);
    assert!(rec.summary().contains("interrupted"), "{}", rec.summary());
    assert!(store.read_vouched(ResultFile::TrainJson).unwrap().is_none());
    assert!(store.verify_stage(Stage::Train).unwrap().is_empty());
    // The new folder is complete (resume can keep it).
    assert_eq!(
        fs::read(t.path().join("saes/job-a/cfg.json")).unwrap(),
        b"{\"v\":2}"
    );
}
