//! The shard primitive: a sweep stage's deterministic, ordered job list cut
//! into `n` contiguous slices, one per process (`--shard i/n`), each job's
//! result written atomically as its own record, and the records gathered
//! back in job order for the merge.
//!
//! Layout, inside the results folder (names from the store's registry,
//! [`rdpbench_store::shard_path`]):
//!
//! - `shards/<stage>/jobs/<job id>.json`: one [`JobRecord`] per finished job;
//! - `shards/<stage>/done/<i>-of-<n>.json`: a [`ShardDone`] per finished shard.
//!
//! Every record carries the plan hash ([`plan_hash`]: SHA-256 of the stage
//! name and the whole job list with everything else its results depend
//! on), so a record from another configuration is refused by name, never
//! merged. A job's result depends only on the job (its seeds are part of
//! the job), not on the shard that ran it or on `n`: a record written by
//! `--shard 1/3` serves `--shard 0/2` as well, and a rerun shard skips every
//! job that already has a record.
//!
//! Big per-job outputs (SAELens folders) are not records: a sharded stage
//! writes them where the unsharded stage would, each folder atomically and
//! owned by one job, so shards never write the same file and the merge
//! moves nothing.

use anyhow::{Context, Result, bail, ensure};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Version of the record files' layout.
pub const SHARD_SCHEMA_VERSION: u32 = 1;

/// Slice `index` of `count` (`--shard index/count`, `0 <= index < count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `i/n`; errors say what was expected.
    pub fn parse(text: &str) -> Result<Shard> {
        let (i, n) = text
            .split_once('/')
            .with_context(|| format!("--shard `{text}`: expected INDEX/COUNT, e.g. 0/3"))?;
        let index: usize = i
            .trim()
            .parse()
            .with_context(|| format!("--shard `{text}`: the index `{i}` is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .with_context(|| format!("--shard `{text}`: the count `{n}` is not a whole number"))?;
        ensure!(count >= 1, "--shard `{text}`: the count must be at least 1");
        ensure!(
            index < count,
            "--shard `{text}`: the index must be below the count (shards are numbered 0..{count})"
        );
        Ok(Shard { index, count })
    }

    /// The jobs of this slice among `len`: contiguous, in job order; the
    /// slices of `0/n … (n-1)/n` cover `0..len` exactly once (some are
    /// empty when `n > len`).
    pub fn range(self, len: usize) -> Range<usize> {
        (self.index * len / self.count)..((self.index + 1) * len / self.count)
    }

    /// The shard of `count` whose slice holds job `job` of `len`.
    pub fn of_job(job: usize, len: usize, count: usize) -> usize {
        (0..count)
            .find(|&i| Shard { index: i, count }.range(len).contains(&job))
            .expect("every job lies in one slice")
    }

    /// `i-of-n`, the name of its completion marker.
    pub fn file_stem(self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The plan hash of a stage: SHA-256 (hex) of the stage name and `plan`
/// (the whole job list and every setting and plugin the results depend on),
/// as compact JSON.
pub fn plan_hash(stage: &str, plan: &impl Serialize) -> Result<String> {
    let bytes = serde_json::to_vec(&(stage, plan)).context("serializing the shard plan")?;
    Ok(rdpbench_store::sha256_hex(&bytes))
}

/// The job id `<index>-<name>`: the index zero-padded to 4 digits (so ids
/// sort in job order), the name reduced to `[A-Za-z0-9._-]` (other
/// characters become `_`; an empty name becomes `job`), so two jobs of one
/// name stay two jobs and every id is a file name.
pub fn indexed_job_id(index: usize, name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = if name.is_empty() { "job".into() } else { name };
    format!("{index:04}-{name}")
}

/// One finished job's result, as a shard writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord<T> {
    pub schema_version: u32,
    pub stage: String,
    pub plan_hash: String,
    /// Position in the stage's job list.
    pub job_index: usize,
    pub job_id: String,
    pub result: T,
}

/// A shard's completion marker: every job of its slice has a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardDone {
    pub schema_version: u32,
    pub stage: String,
    pub plan_hash: String,
    pub shard: Shard,
    pub jobs: Vec<String>,
}

/// The shard folder of one stage in one results folder, and its plan.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    pub stage: String,
    pub dir: PathBuf,
    pub hash: String,
    /// Job ids in job order (unique).
    pub job_ids: Vec<String>,
}

impl ShardPlan {
    /// The plan of `stage` in the results folder `root`; `job_ids` must be
    /// unique (they name files).
    pub fn new(root: &Path, stage: &str, hash: String, job_ids: Vec<String>) -> Result<ShardPlan> {
        let unique: BTreeSet<&String> = job_ids.iter().collect();
        ensure!(
            unique.len() == job_ids.len(),
            "the {stage} job list repeats a job id; it cannot be sharded"
        );
        Ok(ShardPlan {
            stage: stage.to_string(),
            dir: root.join(rdpbench_store::shard_path(stage)),
            hash,
            job_ids,
        })
    }

    fn record_path(&self, job_id: &str) -> PathBuf {
        self.dir.join("jobs").join(format!("{job_id}.json"))
    }

    fn done_path(&self, shard: Shard) -> PathBuf {
        self.dir
            .join("done")
            .join(format!("{}.json", shard.file_stem()))
    }

    /// The record of job `index`, if one exists; a record of another plan
    /// (hash) or another job is an error naming the file.
    fn read_record<T: DeserializeOwned>(&self, index: usize) -> Result<Option<JobRecord<T>>> {
        let path = self.record_path(&self.job_ids[index]);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let record: JobRecord<T> = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a {} job record", path.display(), self.stage))?;
        ensure!(
            record.schema_version == SHARD_SCHEMA_VERSION,
            "{}: schema_version {} (this rdpbench reads {SHARD_SCHEMA_VERSION})",
            path.display(),
            record.schema_version
        );
        if record.plan_hash != self.hash || record.stage != self.stage {
            bail!(
                "{} was written by a {} run with another configuration (plan hash {}, this run's {}); \
                 use another results folder or delete {}",
                path.display(),
                record.stage,
                record.plan_hash,
                self.hash,
                self.dir.display()
            );
        }
        ensure!(
            record.job_index == index && record.job_id == self.job_ids[index],
            "{}: job {} `{}` where this plan has job {index} `{}`",
            path.display(),
            record.job_index,
            record.job_id,
            self.job_ids[index]
        );
        Ok(Some(record))
    }

    /// Runs `shard`'s slice: every job without a record is computed by
    /// `run(index)` and its record written atomically; a job with a record
    /// is skipped (resume). Writes the shard's completion marker at the end.
    /// Returns how many jobs were computed and how many skipped.
    pub fn run_shard<T: Serialize + DeserializeOwned>(
        &self,
        shard: Shard,
        mut run: impl FnMut(usize) -> Result<T>,
    ) -> Result<(usize, usize)> {
        let (mut computed, mut skipped) = (0, 0);
        let range = shard.range(self.job_ids.len());
        for sub in ["jobs", "done"] {
            let d = self.dir.join(sub);
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
        }
        for index in range.clone() {
            if self.read_record::<T>(index)?.is_some() {
                skipped += 1;
                continue;
            }
            let result = run(index)?;
            let record = JobRecord {
                schema_version: SHARD_SCHEMA_VERSION,
                stage: self.stage.clone(),
                plan_hash: self.hash.clone(),
                job_index: index,
                job_id: self.job_ids[index].clone(),
                result,
            };
            let path = self.record_path(&self.job_ids[index]);
            rdpbench_store::write_atomic(&path, &serde_json::to_vec_pretty(&record)?)
                .with_context(|| format!("writing {}", path.display()))?;
            computed += 1;
        }
        let done = ShardDone {
            schema_version: SHARD_SCHEMA_VERSION,
            stage: self.stage.clone(),
            plan_hash: self.hash.clone(),
            shard,
            jobs: self.job_ids[range].to_vec(),
        };
        let path = self.done_path(shard);
        rdpbench_store::write_atomic(&path, &serde_json::to_vec_pretty(&done)?)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok((computed, skipped))
    }

    /// The shards of `count` that have no completion marker of this plan.
    pub fn missing_shards(&self, count: usize) -> Vec<usize> {
        (0..count)
            .filter(|&index| {
                let path = self.done_path(Shard { index, count });
                let done: Option<ShardDone> = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                done.is_none_or(|d| d.plan_hash != self.hash)
            })
            .collect()
    }

    /// The shard counts with at least one completion marker of this plan.
    fn counts_seen(&self) -> BTreeSet<usize> {
        let mut counts = BTreeSet::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.join("done")) {
            for e in entries.flatten() {
                let done: Option<ShardDone> = std::fs::read(e.path())
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                if let Some(d) = done.filter(|d| d.plan_hash == self.hash) {
                    counts.insert(d.shard.count);
                }
            }
        }
        counts
    }

    /// Every job's record, in job order. Fails when a job has none, naming
    /// the missing jobs and, for each shard count the shards used, the
    /// shards to rerun; or when a record is from another plan.
    pub fn collect<T: DeserializeOwned>(&self) -> Result<Vec<JobRecord<T>>> {
        let mut records = Vec::with_capacity(self.job_ids.len());
        let mut missing = Vec::new();
        for index in 0..self.job_ids.len() {
            match self.read_record(index)? {
                Some(r) => records.push(r),
                None => missing.push(index),
            }
        }
        if missing.is_empty() {
            return Ok(records);
        }
        let names: Vec<&str> = missing.iter().map(|&i| self.job_ids[i].as_str()).collect();
        let mut hint = String::new();
        for count in self.counts_seen() {
            let shards: BTreeSet<usize> = missing
                .iter()
                .map(|&j| Shard::of_job(j, self.job_ids.len(), count))
                .collect();
            let shards: Vec<String> = shards.iter().map(|i| format!("{i}/{count}")).collect();
            hint.push_str(&format!("; rerun --shard {}", shards.join(", ")));
        }
        bail!(
            "{} of {} {} job(s) have no result in {}: {}{hint}",
            missing.len(),
            self.job_ids.len(),
            self.stage,
            self.dir.join("jobs").display(),
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_every_job_once_in_order_for_any_count() {
        for len in 0..12 {
            for count in 1..16 {
                let mut seen = Vec::new();
                for index in 0..count {
                    let r = Shard { index, count }.range(len);
                    seen.extend(r.clone());
                    for j in r {
                        assert_eq!(Shard::of_job(j, len, count), index);
                    }
                }
                assert_eq!(
                    seen,
                    (0..len).collect::<Vec<_>>(),
                    "len {len} count {count}"
                );
            }
        }
        // 7 jobs over 3 shards: 0..2, 2..4, 4..7.
        let r: Vec<_> = (0..3)
            .map(|i| Shard { index: i, count: 3 }.range(7))
            .collect();
        assert_eq!(r, vec![0..2, 2..4, 4..7]);
    }

    #[test]
    fn parse_accepts_i_of_n_and_names_what_is_wrong() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for (bad, says) in [
            ("3/3", "below the count"),
            ("0/0", "at least 1"),
            ("1", "INDEX/COUNT"),
            ("a/3", "index `a`"),
            ("0/x", "count `x`"),
        ] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rdpbench-shard-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn records_resume_collect_in_order_and_refuse_other_plans() {
        let root = scratch("records");
        let ids: Vec<String> = (0..5).map(|i| format!("job{i}")).collect();
        let plan = ShardPlan::new(&root, "train", "h1".into(), ids.clone()).unwrap();
        // Shard 1/2 (jobs 2..5) only: the merge names the missing jobs and shard.
        let mut calls = Vec::new();
        let n = plan
            .run_shard(Shard { index: 1, count: 2 }, |i| {
                calls.push(i);
                Ok(i * 10)
            })
            .unwrap();
        assert_eq!((n, calls.clone()), ((3, 0), vec![2, 3, 4]));
        assert_eq!(plan.missing_shards(2), vec![0]);
        let e = plan.collect::<usize>().unwrap_err().to_string();
        assert!(e.contains("2 of 5") && e.contains("job0, job1"), "{e}");
        assert!(e.contains("rerun --shard 0/2"), "{e}");
        // Another count reuses the records: 0/3 (jobs 0..1) computes job 0 only...
        let n = plan
            .run_shard(Shard { index: 0, count: 3 }, |i| Ok(i * 10))
            .unwrap();
        assert_eq!(n, (1, 0));
        // ...and 1/3 (jobs 1..3) computes job 1 and skips job 2.
        let n = plan
            .run_shard(Shard { index: 1, count: 3 }, |i| Ok(i * 10))
            .unwrap();
        assert_eq!(n, (1, 1));
        let got: Vec<usize> = plan
            .collect::<usize>()
            .unwrap()
            .into_iter()
            .map(|r| r.result)
            .collect();
        assert_eq!(got, vec![0, 10, 20, 30, 40]);
        // A plan with another hash refuses those records, naming the file.
        let other = ShardPlan::new(&root, "train", "h2".into(), ids).unwrap();
        let e = other.collect::<usize>().unwrap_err().to_string();
        assert!(
            e.contains("job0.json") && e.contains("another configuration"),
            "{e}"
        );
        assert_eq!(other.missing_shards(2), vec![0, 1]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn indexed_job_ids_sort_in_job_order_and_are_file_names() {
        assert_eq!(
            indexed_job_id(1, "mean-max-decoder-cosine"),
            "0001-mean-max-decoder-cosine"
        );
        assert_eq!(indexed_job_id(7, "a/b c:d"), "0007-a_b_c_d");
        assert_eq!(indexed_job_id(0, ""), "0000-job");
        let mut ids: Vec<String> = [10, 9, 100]
            .iter()
            .map(|&i| indexed_job_id(i, "m"))
            .collect();
        ids.sort();
        assert_eq!(ids, ["0009-m", "0010-m", "0100-m"]);
    }

    #[test]
    fn repeated_ids_and_plan_hashes() {
        let e = ShardPlan::new(
            Path::new("/x"),
            "train",
            "h".into(),
            vec!["a".into(), "a".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("repeats"), "{e}");
        let a = plan_hash("train", &vec![1, 2]).unwrap();
        assert_eq!(a, plan_hash("train", &vec![1, 2]).unwrap());
        assert_ne!(a, plan_hash("validity", &vec![1, 2]).unwrap());
        assert_ne!(a, plan_hash("train", &vec![2, 1]).unwrap());
        assert_eq!(a.len(), 64);
    }
}
