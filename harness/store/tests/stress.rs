//! kill -9 at random moments while a writer commits multi-file stages, 20
//! times: afterwards every result file that exists parses, every vouched
//! file's hash matches, a stage's files always come from one commit, and
//! the vouched run never goes back in time. Plus: two writers started
//! together on one folder: one runs, the other exits at once with code 6.
//!
//! The writers are this test binary re-run in a child role (an env var
//! selects the role), so no extra binary is needed.

mod common;

use common::{TempDir, all_files};
use rdpbench_store::{
    EXIT_RESULTS_FOLDER_IN_USE, LOCK_FILE, ResultDir, ResultFile, STAGING_DIR, Stage, Status, Store,
};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "RDPBENCH_STORE_STRESS_ROLE";
const DIR: &str = "RDPBENCH_STORE_STRESS_DIR";
const WEIGHTS_LEN: usize = 64 * 1024;

/// A large-ish JSON document carrying `counter`.
fn big_json(counter: u64, tag: &str) -> Vec<u8> {
    let rows: Vec<serde_json::Value> = (0..800)
        .map(|i| serde_json::json!({"metric": format!("m{i}"), "tag": tag, "value": i as f64 * 0.5, "counter": counter}))
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({"counter": counter, "rows": rows})).unwrap()
}

fn csv(counter: u64) -> Vec<u8> {
    let mut s = format!("counter,{counter}\n");
    for i in 0..2000 {
        s.push_str(&format!("m{i},{i}\n"));
    }
    s.push_str("end\n");
    s.into_bytes()
}

/// The child writer: commits check (4 files) and train (a job folder plus
/// train.json) stages forever, until killed.
fn writer(dir: &Path) {
    let mut store = Store::open(dir, "store_stress writer").unwrap();
    let mut counter = store
        .read_vouched(ResultFile::CheckJson)
        .unwrap()
        .map_or(0, |b| counter_of(&b))
        + 1;
    loop {
        let mut w = store.begin(Stage::Check).unwrap();
        w.write(ResultFile::CheckJson, &big_json(counter, "check"))
            .unwrap();
        w.write(ResultFile::CheckComparison, &big_json(counter, "cmp"))
            .unwrap();
        w.write(ResultFile::CheckCsv, &csv(counter)).unwrap();
        w.write(ResultFile::CheckMarkdown, &csv(counter)).unwrap();
        w.commit().unwrap();
        if counter.is_multiple_of(2) {
            let mut w = store.begin(Stage::Train).unwrap();
            let cfg = big_json(counter, "cfg");
            let weights = vec![(counter % 251) as u8; WEIGHTS_LEN];
            w.commit_folder(
                ResultDir::TrainSaes,
                &format!("job-{}", counter % 3),
                &[("cfg.json", &cfg), ("sae_weights.safetensors", &weights)],
            )
            .unwrap();
            // The same name every time: replaces a folder the previous
            // entry vouches for, so the stage is retracted first.
            w.commit_folder(
                ResultDir::TrainSaes,
                "job-fixed",
                &[("cfg.json", &cfg), ("sae_weights.safetensors", &weights)],
            )
            .unwrap();
            w.write(ResultFile::TrainJson, &big_json(counter, "train"))
                .unwrap();
            w.write(ResultFile::TrainCsv, &csv(counter)).unwrap();
            w.commit().unwrap();
        }
        counter += 1;
    }
}

fn counter_of(json: &[u8]) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    v["counter"].as_u64().unwrap()
}

fn csv_counter(b: &[u8]) -> u64 {
    let text = std::str::from_utf8(b).unwrap();
    assert!(text.ends_with("end\n"), "truncated csv");
    text.lines()
        .next()
        .unwrap()
        .strip_prefix("counter,")
        .unwrap()
        .parse()
        .unwrap()
}

/// xorshift64*: a seeded RNG without dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn child(role: &str, dir: &Path, test: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Every file in the folder outside the store's scratch parses / is whole.
fn check_existing_files(dir: &Path) {
    for f in all_files(dir) {
        if f == LOCK_FILE || f.starts_with(STAGING_DIR) || f.contains(".rdpbench-tmp.") {
            continue;
        }
        let bytes = std::fs::read(dir.join(&f)).unwrap();
        if f.ends_with(".json") {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{f} does not parse after kill -9: {e}"));
        } else if f.ends_with(".csv") || f.ends_with(".md") {
            csv_counter(&bytes);
        } else if f.ends_with(".safetensors") {
            assert_eq!(bytes.len(), WEIGHTS_LEN, "{f} is incomplete");
            assert!(bytes.iter().all(|&b| b == bytes[0]), "{f} mixes two writes");
        } else {
            panic!("unexpected file {f}");
        }
    }
}

#[test]
fn kill_9_twenty_times_while_committing() {
    if std::env::var(ROLE).as_deref() == Ok("writer") {
        writer(Path::new(&std::env::var(DIR).unwrap()));
        return;
    }
    let t = TempDir::new("stress");
    let mut rng = Rng(0x5eed_2026_1202);
    let mut last_check = 0u64;
    let mut last_train = 0u64;
    let mut mid_stage_kills = 0;
    let mut interrupted = 0;
    for kill in 0..20 {
        let mut c = child("writer", t.path(), "kill_9_twenty_times_while_committing")
            .spawn()
            .unwrap();
        let delay = 30 + rng.next() % 270;
        std::thread::sleep(Duration::from_millis(delay));
        if let Ok(Some(status)) = c.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("writer ended by itself ({status}): {err}");
        }
        c.kill().unwrap(); // SIGKILL on Unix
        c.wait().unwrap();

        check_existing_files(t.path());
        if t.path().join(STAGING_DIR).exists() {
            mid_stage_kills += 1;
        }
        // Recovery, then the vouched state must be whole and coherent.
        let store = Store::open(t.path(), "verifier").unwrap();
        assert!(!t.path().join(STAGING_DIR).exists());
        check_existing_files(t.path());
        for s in Stage::ALL {
            assert!(
                store.verify_stage(s).unwrap().is_empty(),
                "kill {kill}: {s} vouches for changed files"
            );
        }
        if store.manifest().status(Stage::Check) == Status::Ok {
            let json = counter_of(&store.read_vouched(ResultFile::CheckJson).unwrap().unwrap());
            let cmp = counter_of(
                &store
                    .read_vouched(ResultFile::CheckComparison)
                    .unwrap()
                    .unwrap(),
            );
            let c = csv_counter(&store.read_vouched(ResultFile::CheckCsv).unwrap().unwrap());
            let md = csv_counter(
                &store
                    .read_vouched(ResultFile::CheckMarkdown)
                    .unwrap()
                    .unwrap(),
            );
            assert!(
                json == cmp && cmp == c && c == md,
                "kill {kill}: check files from different commits: {json} {cmp} {c} {md}"
            );
            assert!(
                json >= last_check,
                "kill {kill}: vouched check went back {last_check} -> {json}"
            );
            last_check = json;
        }
        if store.manifest().status(Stage::Train) == Status::Failed {
            interrupted += 1;
        }
        if store.manifest().status(Stage::Train) == Status::Ok {
            let train = counter_of(&store.read_vouched(ResultFile::TrainJson).unwrap().unwrap());
            let c = csv_counter(&store.read_vouched(ResultFile::TrainCsv).unwrap().unwrap());
            assert_eq!(train, c, "kill {kill}: train files from different commits");
            assert!(train >= last_train);
            last_train = train;
        }
    }
    eprintln!(
        "20 kills: last vouched check commit #{last_check}, train #{last_train}; {mid_stage_kills} kill(s) left a stage mid-write; train read as interrupted after {interrupted}"
    );
    assert!(
        last_check > 0,
        "the writer never committed: kills came too early"
    );
}

#[test]
fn two_writers_started_together_one_runs_one_exits_6() {
    if std::env::var(ROLE).as_deref() == Ok("racer") {
        let dir = std::env::var(DIR).unwrap();
        let mut store = match Store::open(Path::new(&dir), "racer") {
            Ok(s) => s,
            Err(e) if e.is_locked() => {
                eprintln!("{e}");
                std::process::exit(i32::from(e.exit_code().unwrap()));
            }
            Err(e) => panic!("{e}"),
        };
        let mut w = store.begin(Stage::Check).unwrap();
        w.write(
            ResultFile::CheckJson,
            &big_json(std::process::id().into(), "race"),
        )
        .unwrap();
        // Stay in the folder long enough for the other to try.
        std::thread::sleep(Duration::from_millis(1500));
        w.commit().unwrap();
        return;
    }
    let t = TempDir::new("race");
    let started = Instant::now();
    let a = child(
        "racer",
        t.path(),
        "two_writers_started_together_one_runs_one_exits_6",
    )
    .spawn()
    .unwrap();
    let b = child(
        "racer",
        t.path(),
        "two_writers_started_together_one_runs_one_exits_6",
    )
    .spawn()
    .unwrap();
    let (pa, pb) = (a.id(), b.id());
    let oa = a.wait_with_output().unwrap();
    let ob = b.wait_with_output().unwrap();
    let codes = [oa.status.code(), ob.status.code()];
    let winner = match codes {
        [Some(0), Some(6)] => pa,
        [Some(6), Some(0)] => pb,
        _ => panic!(
            "want one 0 and one {EXIT_RESULTS_FOLDER_IN_USE}, got {codes:?}: {} / {}",
            String::from_utf8_lossy(&oa.stderr),
            String::from_utf8_lossy(&ob.stderr)
        ),
    };
    let loser_err = if codes[0] == Some(6) {
        &oa.stderr
    } else {
        &ob.stderr
    };
    let msg = String::from_utf8_lossy(loser_err);
    assert!(
        msg.contains("in use") && msg.contains(&t.path().display().to_string()),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let store = Store::open(t.path(), "verifier").unwrap();
    let json = store.read_vouched(ResultFile::CheckJson).unwrap().unwrap();
    assert_eq!(
        counter_of(&json),
        u64::from(winner),
        "the folder holds the winner's run"
    );
    assert!(store.verify_stage(Stage::Check).unwrap().is_empty());
}
