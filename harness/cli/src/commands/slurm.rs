//! `rdpbench slurm STAGE [stage options] --tasks N …`: a sharded stage on a
//! Slurm cluster. Writes two sbatch scripts into the results folder's
//! `shards/<stage>/slurm/`: a job array, one task per shard (`--shard
//! $SLURM_ARRAY_TASK_ID/N`), and the merge (`rdpbench merge STAGE`), submitted
//! with `--dependency=afterok:<array>` so it runs only when every shard
//! succeeded (`--kill-on-invalid-dep=yes`: a failed shard cancels it rather
//! than leaving it pending). `slurm status` reads the submission back and
//! names the shards without a completion marker; `slurm resubmit` submits
//! only those, and a new merge after them.
//!
//! Every path in the scripts is absolute: the rdpbench binary
//! (`std::env::current_exe`), the configuration file, the working folder
//! (`--chdir`), and `RDPBENCH_PLUGIN_PATH` (this process's value, each
//! folder made absolute; the binary's own folder is searched by every
//! rdpbench anyway), so every node loads the same plugins from the same
//! shared file system.

use super::check::CheckArgs;
use super::eval::EvalArgs;
use super::no_shard::SHARDABLE;
use super::plugins::{PLUGIN_PATH_ENV, out};
use super::real::RealArgs;
use super::results;
use super::train::TrainArgs;
use super::validity::ValidityArgs;
use anyhow::{Context, Result, bail, ensure};
use rdpbench_schema::config::Config;
use rdpbench_schema::exit::{Exit, usage_error};
use rdpbench_store::{Stage, StoreReader, shard_path};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the submission is recorded, inside `shards/<stage>/slurm/`.
const SUBMISSION_FILE: &str = "submission.json";
/// Seconds a Slurm client call may take before it is abandoned.
const CLIENT_TIMEOUT_SECS: &str = "30";

#[derive(Debug, Clone, clap::Args)]
pub struct SlurmOptions {
    /// Array tasks, one shard each.
    #[arg(long)]
    tasks: usize,
    /// sbatch --partition for the shards and the merge.
    #[arg(long)]
    partition: Option<String>,
    /// sbatch --time per task (Slurm's format, e.g. 2:00:00).
    #[arg(long)]
    time: Option<String>,
    /// sbatch --cpus-per-task for each shard.
    #[arg(long)]
    cpus_per_task: Option<u32>,
    /// sbatch --gres for each shard (e.g. gpu:1).
    #[arg(long)]
    gres: Option<String>,
    /// Write and print the scripts and the sbatch commands; submit nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum SlurmCommand {
    /// The check as a job array, one shard a slice of the metrics
    /// (`rdpbench check` options).
    Check {
        #[command(flatten)]
        stage: CheckArgs,
        #[command(flatten)]
        slurm: SlurmOptions,
    },
    /// The train sweep as a job array (`rdpbench train` options).
    Train {
        #[command(flatten)]
        stage: TrainArgs,
        #[command(flatten)]
        slurm: SlurmOptions,
    },
    /// The validity stage as a job array (`rdpbench validity` options).
    Validity {
        #[command(flatten)]
        stage: ValidityArgs,
        #[command(flatten)]
        slurm: SlurmOptions,
    },
    /// An evaluation of many SAEs as a job array, one shard a slice of the
    /// SAEs (`rdpbench eval` options).
    Eval {
        #[command(flatten)]
        stage: EvalArgs,
        #[command(flatten)]
        slurm: SlurmOptions,
    },
    /// The real stage as a job array, one shard a slice of the real SAEs
    /// (`rdpbench real` options).
    Real {
        #[command(flatten)]
        stage: RealArgs,
        #[command(flatten)]
        slurm: SlurmOptions,
    },
    /// Where each submitted stage stands: shards done, missing, the merge.
    Status {
        /// Results folder; default from [output].dir.
        #[arg(long)]
        out: Option<PathBuf>,
        /// JSON on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Submit again only the shards without a completion marker, and a new
    /// merge that depends on them.
    Resubmit {
        /// The stage (default: the only one submitted in this folder).
        stage: Option<String>,
        /// Results folder; default from [output].dir.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the sbatch commands; submit nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A stage's submission, as `shards/<stage>/slurm/submission.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submission {
    pub stage: String,
    pub tasks: usize,
    /// The results folder, absolute.
    pub results: PathBuf,
    pub array_script: PathBuf,
    pub merge_script: PathBuf,
    pub logs: PathBuf,
    /// RFC 3339 UTC of the first submission.
    pub submitted: String,
    /// Array job ids, first submission first (resubmissions after it).
    pub array_jobs: Vec<String>,
    /// The shard indices each array job ran (all, then the resubmitted ones).
    pub array_tasks: Vec<Vec<usize>>,
    /// Merge job ids, one per submission and resubmission.
    pub merge_jobs: Vec<String>,
}

/// Runs a `rdpbench slurm` command.
pub fn slurm(config_path: Option<&Path>, config: Config, command: SlurmCommand) -> Result<Exit> {
    match command {
        SlurmCommand::Check { stage, slurm } => {
            ensure_no_shard(stage.shard.as_ref())?;
            let root = results::results_dir(stage.out.clone(), &config);
            submit("check", &root, config_path, &slurm)
        }
        SlurmCommand::Train { stage, slurm } => {
            ensure_no_shard(stage.shard.as_ref())?;
            let root = results::results_dir(stage.out.clone(), &config);
            submit("train", &root, config_path, &slurm)
        }
        SlurmCommand::Validity { stage, slurm } => {
            ensure_no_shard(stage.shard.as_ref())?;
            let root = results::results_dir(stage.out.clone(), &config);
            submit("validity", &root, config_path, &slurm)
        }
        SlurmCommand::Eval { stage, slurm } => {
            ensure_no_shard(stage.shard.as_ref())?;
            let root = results::results_dir(stage.out.clone(), &config);
            submit("eval", &root, config_path, &slurm)
        }
        SlurmCommand::Real { stage, slurm } => {
            ensure_no_shard(stage.shard.as_ref())?;
            let root = results::results_dir(stage.out.clone(), &config);
            submit("real", &root, config_path, &slurm)
        }
        SlurmCommand::Status { out, json } => status(&results::results_dir(out, &config), json),
        SlurmCommand::Resubmit {
            stage,
            out,
            dry_run,
        } => resubmit(&results::results_dir(out, &config), stage, dry_run),
    }
}

fn ensure_no_shard(shard: Option<&String>) -> Result<()> {
    match shard {
        Some(s) => Err(usage_error(anyhow::anyhow!(
            "`rdpbench slurm` gives each array task its own --shard; do not pass one (got {s})"
        ))),
        None => Ok(()),
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("the current folder")?
        .join(p))
}

/// The stage's own options as typed: the words after `slurm STAGE`, less
/// the Slurm options, the global `--config` (passed separately, absolute)
/// and `--out` (passed separately, absolute).
fn stage_words(stage: &str) -> Result<Vec<String>> {
    let words: Vec<String> = std::env::args().collect();
    let at = words
        .iter()
        .position(|w| w == "slurm")
        .context("no `slurm` on the command line")?;
    ensure!(
        words.get(at + 1).map(String::as_str) == Some(stage),
        "expected `rdpbench slurm {stage} …`"
    );
    let valued = [
        "--tasks",
        "--partition",
        "--time",
        "--cpus-per-task",
        "--gres",
        "--config",
        "--out",
    ];
    let mut kept = Vec::new();
    let mut it = words[at + 2..].iter();
    while let Some(w) = it.next() {
        if valued.contains(&w.as_str()) {
            it.next();
            continue;
        }
        let own = w == "--dry-run" || valued.iter().any(|v| w.starts_with(&format!("{v}=")));
        if !own {
            kept.push(w.clone());
        }
    }
    Ok(kept)
}

/// `word` as one POSIX shell word.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn slurm_dir(root: &Path, stage: &str) -> PathBuf {
    root.join(shard_path(stage)).join("slurm")
}

/// The sbatch header lines every script of this submission shares.
fn resources(o: &SlurmOptions, with_task_resources: bool) -> String {
    let mut h = String::new();
    if let Some(p) = &o.partition {
        h.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &o.time {
        h.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if with_task_resources {
        if let Some(c) = o.cpus_per_task {
            h.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
        }
        if let Some(g) = &o.gres {
            h.push_str(&format!("#SBATCH --gres={g}\n"));
        }
    }
    h
}

fn submit(stage: &str, root: &Path, config_path: Option<&Path>, o: &SlurmOptions) -> Result<Exit> {
    if o.tasks == 0 {
        return Err(usage_error(anyhow::anyhow!("--tasks must be at least 1")));
    }
    let root = absolute(root)?;
    let exe = std::env::current_exe().context("the path of this rdpbench binary")?;
    let cwd = std::env::current_dir().context("the current folder")?;
    let plugin_path: Vec<PathBuf> = std::env::var_os(PLUGIN_PATH_ENV)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    // Made absolute, so every node searches the same folders. The binary's
    // own folder needs no entry: every rdpbench searches it already
    // ([plugins].build_dir, rdpbench's plugins only), at the same absolute path.
    let plugin_path: Vec<PathBuf> = plugin_path
        .iter()
        .map(|p| absolute(p))
        .collect::<Result<_>>()?;
    let plugin_path = std::env::join_paths(&plugin_path)
        .context("RDPBENCH_PLUGIN_PATH")?
        .to_string_lossy()
        .into_owned();
    let mut command = vec![exe.to_string_lossy().into_owned()];
    if let Some(c) = config_path {
        command.push("--config".into());
        command.push(absolute(c)?.to_string_lossy().into_owned());
    }
    let words = stage_words(stage)?;
    let run_words = |first: &[&str]| -> String {
        let mut all: Vec<String> = command.clone();
        all.extend(first.iter().map(|s| s.to_string()));
        all.extend(words.iter().cloned());
        all.push("--out".into());
        all.push(root.to_string_lossy().into_owned());
        all.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
    };
    let dir = slurm_dir(&root, stage);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let n = o.tasks;
    let common = |name: &str| {
        format!(
            "#!/bin/bash\n#SBATCH --job-name=rdpbench-{stage}-{name}\n#SBATCH --chdir={}\n",
            cwd.display()
        )
    };
    let array = format!(
        "{}#SBATCH --array=0-{}\n#SBATCH --output={}/shard-%a.out\n{}\
         # One shard of `rdpbench {stage}`: its slice of the job list, recorded in\n\
         # {}; a shard that is rerun skips the jobs it already recorded.\n\
         set -euo pipefail\nexport {PLUGIN_PATH_ENV}={}\n\
         exec {} --shard \"${{SLURM_ARRAY_TASK_ID}}/{n}\"\n",
        common("shard"),
        n - 1,
        logs.display(),
        resources(o, true),
        root.join(shard_path(stage)).display(),
        quote(&plugin_path),
        run_words(&[stage]),
    );
    let merge = format!(
        "{}#SBATCH --output={}/merge.out\n{}\
         # The merge: runs only after every shard succeeded (afterok).\n\
         set -euo pipefail\nexport {PLUGIN_PATH_ENV}={}\nexec {}\n",
        common("merge"),
        logs.display(),
        resources(o, false),
        quote(&plugin_path),
        run_words(&["merge", stage]),
    );
    let array_script = dir.join("array.sbatch");
    let merge_script = dir.join("merge.sbatch");
    rdpbench_store::write_atomic(&array_script, array.as_bytes())?;
    rdpbench_store::write_atomic(&merge_script, merge.as_bytes())?;
    if o.dry_run {
        out(&format!(
            "# {}\n{array}\n# {}\n{merge}\n# submit with:\n# sbatch --parsable {}\n# sbatch --parsable --dependency=afterok:<array job id> --kill-on-invalid-dep=yes {}\n",
            array_script.display(),
            merge_script.display(),
            array_script.display(),
            merge_script.display()
        ))?;
        return Ok(Exit::Ok);
    }
    let array_job = sbatch(&[], &array_script)?;
    let merge_job = sbatch(
        &[
            &format!("--dependency=afterok:{array_job}"),
            "--kill-on-invalid-dep=yes",
        ],
        &merge_script,
    )?;
    let submission = Submission {
        stage: stage.into(),
        tasks: n,
        results: root.clone(),
        array_script,
        merge_script,
        logs: logs.clone(),
        submitted: rdpbench_store::now_utc(),
        array_jobs: vec![array_job.clone()],
        array_tasks: vec![(0..n).collect()],
        merge_jobs: vec![merge_job.clone()],
    };
    save(&dir, &submission)?;
    out(&format!(
        "submitted {stage}: array job {array_job} ({n} task(s), one shard each), merge job {merge_job} (afterok:{array_job})\n\
         results: {}\nlogs: {}\nstatus: rdpbench slurm status --out {}\n",
        root.display(),
        logs.display(),
        root.display()
    ))?;
    Ok(Exit::Ok)
}

fn save(dir: &Path, s: &Submission) -> Result<()> {
    let path = dir.join(SUBMISSION_FILE);
    rdpbench_store::write_atomic(&path, &serde_json::to_vec_pretty(s)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs `sbatch --parsable ARGS SCRIPT` and returns the job id.
fn sbatch(args: &[&str], script: &Path) -> Result<String> {
    let output = Command::new("timeout")
        .arg(CLIENT_TIMEOUT_SECS)
        .arg("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .context("running sbatch (is Slurm's client installed and on PATH?)")?;
    if !output.status.success() {
        bail!(
            "sbatch {} {} failed ({}): {}",
            args.join(" "),
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    ensure!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
        "sbatch printed no job id: {text:?}"
    );
    Ok(id)
}

/// Slurm's state of each job and array task in `ids` that squeue still
/// knows (`123_4` → `FAILED`); empty when squeue is unavailable.
fn squeue_states(ids: &[String]) -> std::collections::BTreeMap<String, String> {
    let mut states = std::collections::BTreeMap::new();
    if ids.is_empty() {
        return states;
    }
    let output = Command::new("timeout")
        .arg(CLIENT_TIMEOUT_SECS)
        .args(["squeue", "-h", "-r", "-t", "all", "-o", "%i %T", "-j"])
        .arg(ids.join(","))
        .output();
    if let Ok(o) = output
        && o.status.success()
    {
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if let Some((id, state)) = line.trim().split_once(' ') {
                states.insert(id.to_string(), state.trim().to_string());
            }
        }
    }
    states
}

/// Where one submitted stage stands.
#[derive(Debug, Serialize)]
struct StageStatus {
    stage: String,
    tasks: usize,
    results: PathBuf,
    array_jobs: Vec<String>,
    merge_jobs: Vec<String>,
    shards: Vec<ShardStatus>,
    /// Shard indices without a completion marker.
    missing: Vec<usize>,
    /// Whether the merge committed the stage after the submission.
    merged: bool,
    merge_state: Option<String>,
}

#[derive(Debug, Serialize)]
struct ShardStatus {
    index: usize,
    done: bool,
    /// Slurm's state of the task that last ran it, while squeue knows it.
    slurm_state: Option<String>,
    log: PathBuf,
}

fn submissions(root: &Path) -> Result<Vec<Submission>> {
    let mut found = Vec::new();
    for stage in SHARDABLE.split(", ") {
        let path = slurm_dir(root, stage).join(SUBMISSION_FILE);
        if let Ok(bytes) = std::fs::read(&path) {
            found.push(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a submission record", path.display()))?,
            );
        }
    }
    Ok(found)
}

fn stage_status(root: &Path, s: &Submission) -> Result<StageStatus> {
    let done_dir = root.join(shard_path(&s.stage)).join("done");
    let mut ids = s.array_jobs.clone();
    ids.extend(s.merge_jobs.iter().cloned());
    let states = squeue_states(&ids);
    let mut shards = Vec::new();
    for index in 0..s.tasks {
        let done = done_dir
            .join(format!("{index}-of-{}.json", s.tasks))
            .is_file();
        // The last array job that ran this shard.
        let slurm_state = s
            .array_jobs
            .iter()
            .zip(&s.array_tasks)
            .rev()
            .find(|(_, tasks)| tasks.contains(&index))
            .and_then(|(job, _)| states.get(&format!("{job}_{index}")).cloned());
        shards.push(ShardStatus {
            index,
            done,
            slurm_state,
            log: s.logs.join(format!("shard-{index}.out")),
        });
    }
    let missing = shards.iter().filter(|x| !x.done).map(|x| x.index).collect();
    let stage = Stage::parse(&s.stage).context("unknown stage in the submission record")?;
    let reader = StoreReader::open(root)?;
    let record = reader.manifest().stage(stage);
    let merged = record.status == rdpbench_store::Status::Ok
        && record
            .command
            .as_deref()
            .is_some_and(|c| c.contains(&format!(" merge {}", s.stage)))
        && record
            .finished
            .as_deref()
            .is_some_and(|f| f >= s.submitted.as_str());
    let merge_state = s.merge_jobs.last().and_then(|j| states.get(j).cloned());
    Ok(StageStatus {
        stage: s.stage.clone(),
        tasks: s.tasks,
        results: s.results.clone(),
        array_jobs: s.array_jobs.clone(),
        merge_jobs: s.merge_jobs.clone(),
        shards,
        missing,
        merged,
        merge_state,
    })
}

fn status(root: &Path, json: bool) -> Result<Exit> {
    let root = absolute(root)?;
    let subs = submissions(&root)?;
    if subs.is_empty() {
        bail!(
            "no Slurm submission recorded in {} (looked for {}/<{SHARDABLE}>/slurm/{SUBMISSION_FILE})",
            root.display(),
            rdpbench_store::SHARDS_DIR
        );
    }
    let all: Vec<StageStatus> = subs
        .iter()
        .map(|s| stage_status(&root, s))
        .collect::<Result<_>>()?;
    if json {
        out(&serde_json::to_string_pretty(&all)?)?;
        return Ok(Exit::Ok);
    }
    let mut t = String::new();
    for st in &all {
        t.push_str(&format!(
            "{}: {} shard(s); array job(s) {}, merge job(s) {}; results in {}\n",
            st.stage,
            st.tasks,
            st.array_jobs.join(", "),
            st.merge_jobs.join(", "),
            st.results.display()
        ));
        for sh in &st.shards {
            let state = sh.slurm_state.as_deref().unwrap_or("-");
            if sh.done {
                t.push_str(&format!("  shard {}/{}: done\n", sh.index, st.tasks));
            } else {
                t.push_str(&format!(
                    "  shard {}/{}: MISSING (slurm: {state}; log {})\n",
                    sh.index,
                    st.tasks,
                    sh.log.display()
                ));
            }
        }
        let merge = if st.merged {
            "done".to_string()
        } else {
            format!(
                "not done (slurm: {})",
                st.merge_state.as_deref().unwrap_or("-")
            )
        };
        t.push_str(&format!("  merge: {merge}\n"));
        if !st.missing.is_empty() {
            let list: Vec<String> = st.missing.iter().map(|i| i.to_string()).collect();
            t.push_str(&format!(
                "  resubmit shard(s) {} and the merge: rdpbench slurm resubmit {} --out {}\n",
                list.join(","),
                st.stage,
                st.results.display()
            ));
        }
    }
    out(&t)?;
    Ok(Exit::Ok)
}

fn resubmit(root: &Path, stage: Option<String>, dry_run: bool) -> Result<Exit> {
    let root = absolute(root)?;
    let subs = submissions(&root)?;
    let mut s = match stage {
        Some(name) => subs
            .into_iter()
            .find(|s| s.stage == name)
            .with_context(|| format!("no Slurm submission of `{name}` in {}", root.display()))?,
        None => match <[Submission; 1]>::try_from(subs) {
            Ok([one]) => one,
            Err(v) => bail!(
                "{} submissions in {}: name the stage (rdpbench slurm resubmit STAGE)",
                v.len(),
                root.display()
            ),
        },
    };
    let st = stage_status(&root, &s)?;
    let busy: Vec<String> = st
        .shards
        .iter()
        .filter(|x| {
            !x.done
                && x.slurm_state.as_deref().is_some_and(|state| {
                    [
                        "PENDING",
                        "RUNNING",
                        "CONFIGURING",
                        "COMPLETING",
                        "SUSPENDED",
                    ]
                    .contains(&state)
                })
        })
        .map(|x| x.index.to_string())
        .collect();
    ensure!(
        busy.is_empty(),
        "shard(s) {} of `{}` are still queued or running; wait for them (rdpbench slurm status)",
        busy.join(","),
        s.stage
    );
    if st.missing.is_empty() && st.merged {
        out(&format!(
            "{}: every shard is done and merged; nothing to resubmit\n",
            s.stage
        ))?;
        return Ok(Exit::Ok);
    }
    let list: Vec<String> = st.missing.iter().map(|i| i.to_string()).collect();
    if dry_run {
        out(&format!(
            "sbatch --parsable --array={} {}\nsbatch --parsable --dependency=afterok:<array job id> --kill-on-invalid-dep=yes {}\n",
            list.join(","),
            s.array_script.display(),
            s.merge_script.display()
        ))?;
        return Ok(Exit::Ok);
    }
    let merge_job = if st.missing.is_empty() {
        // Every shard is done but the merge was cancelled or failed: the merge alone.
        sbatch(&[], &s.merge_script)?
    } else {
        let array_job = sbatch(&[&format!("--array={}", list.join(","))], &s.array_script)?;
        s.array_jobs.push(array_job.clone());
        s.array_tasks.push(st.missing.clone());
        sbatch(
            &[
                &format!("--dependency=afterok:{array_job}"),
                "--kill-on-invalid-dep=yes",
            ],
            &s.merge_script,
        )?
    };
    s.merge_jobs.push(merge_job.clone());
    save(&slurm_dir(&root, &s.stage), &s)?;
    out(&format!(
        "resubmitted {}: shard(s) [{}] as array job {}, merge job {merge_job}\n",
        s.stage,
        list.join(","),
        if st.missing.is_empty() {
            "-".to_string()
        } else {
            s.array_jobs.last().cloned().unwrap_or_default()
        }
    ))?;
    Ok(Exit::Ok)
}
