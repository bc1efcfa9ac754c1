//! The store proper: [`Store`] (the lock holder, the only writer),
//! [`StageWriter`] (one stage's writes, all or nothing) and
//! [`StoreReader`] (a lock-free view of the last committed run).

use crate::StoreError;
use crate::fsutil::{
    TMP_MARKER, check_rel, create_dir_all, fsync_dir, now_utc, parent_of, sha256_file, sha256_hex,
    unique_suffix, walk_files, write_atomic, write_synced,
};
use crate::manifest::{FileRecord, Manifest, StageRecord, Status};
use crate::registry::{LOCK_FILE, MANIFEST_FILE, ResultDir, ResultFile, STAGING_DIR, Stage};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The journal a stage commit writes into its staging folder once every
/// staged file is durable: the files to move into place and the manifest
/// to write afterwards. Its presence makes the commit happen, even if the
/// process dies half-way (the next [`Store::open`] finishes it).
const JOURNAL_FILE: &str = "commit.json";
/// Sub-folder of a stage's staging folder holding its staged files, laid
/// out as in the results folder.
const STAGED_FILES: &str = "files";

#[derive(Serialize, Deserialize)]
struct Journal {
    files: Vec<String>,
    manifest: Manifest,
}

/// A results folder opened for writing. Holds an exclusive lock on
/// `<root>/.rdpbench.lock` for its whole life (released on drop, or by the
/// OS when the process dies, even by `kill -9`).
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    /// Held for the lock; never read.
    _lock: File,
    manifest: Manifest,
    command: String,
}

impl Store {
    /// Opens (creating it if needed) the results folder `root` for the
    /// command line `command` (recorded in `run.json`).
    ///
    /// Takes the folder lock without waiting: if another process (or
    /// another `Store` in this process) holds it, fails at once with
    /// [`StoreError::Locked`]. Then finishes a stage commit a killed
    /// process left half-done (its journal was complete), discards every
    /// other staging leftover and stale temporary file, and loads
    /// `run.json` if there is one.
    pub fn open(root: &Path, command: &str) -> Result<Store, StoreError> {
        create_dir_all(root)?;
        let lock_path = root.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| StoreError::io("open lock file", &lock_path, e))?;
        match try_lock_briefly(&lock) {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                return Err(StoreError::Locked {
                    root: root.to_path_buf(),
                    holder,
                });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(StoreError::io("lock", &lock_path, e));
            }
        }
        // Diagnostics for a second process that finds the folder locked.
        let who = format!("held by pid {}: {command}\n", std::process::id());
        lock.set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| lock.write_all(who.as_bytes()))
            .map_err(|e| StoreError::io("write lock file", &lock_path, e))?;

        recover(root)?;
        let manifest_path = root.join(MANIFEST_FILE);
        let manifest = match fs::read(&manifest_path) {
            Ok(bytes) => Manifest::parse(&bytes, &manifest_path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::empty(command),
            Err(e) => return Err(StoreError::io("read", &manifest_path, e)),
        };
        let mut store = Store {
            root: root.to_path_buf(),
            _lock: lock,
            manifest,
            command: command.to_string(),
        };
        // We hold the lock: a stage still `running` was cut short.
        let mut m = store.manifest.clone();
        let mut interrupted = false;
        for r in m.stages.values_mut() {
            if r.status == Status::Running {
                r.status = Status::Failed;
                r.reason = Some(
                    "interrupted: the process writing this stage ended before it finished".into(),
                );
                r.files.clear();
                interrupted = true;
            }
        }
        if interrupted {
            store.write_manifest(m)?;
        }
        Ok(store)
    }

    /// The results folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest as last committed (what `run.json` holds).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where `file` lives (whether or not it exists or is vouched for).
    pub fn path_of(&self, file: ResultFile) -> PathBuf {
        self.root.join(file.path())
    }

    /// Where `dir` lives.
    pub fn dir_path(&self, dir: ResultDir) -> PathBuf {
        self.root.join(dir.path())
    }

    /// Starts writing `stage`. Nothing changes in the results folder or
    /// in `run.json` until [`StageWriter::commit`] or
    /// [`StageWriter::fail`]; dropping the writer (or dying) without either
    /// leaves the stage's previous entry and files as they were (except job
    /// folders already committed with [`StageWriter::commit_folder`], which
    /// are complete and kept for resume).
    pub fn begin(&mut self, stage: Stage) -> Result<StageWriter<'_>, StoreError> {
        let staging =
            self.root
                .join(STAGING_DIR)
                .join(format!("{}-{}", stage.name(), unique_suffix()));
        create_dir_all(&staging.join(STAGED_FILES))?;
        // Make the staging folder's own entries durable, so a journal
        // written in it later cannot vanish with it on power loss.
        fsync_dir(&self.root.join(STAGING_DIR))?;
        fsync_dir(&self.root)?;
        Ok(StageWriter {
            store: self,
            stage,
            staging,
            staged: BTreeMap::new(),
            folders: BTreeMap::new(),
            started: now_utc(),
            done: false,
        })
    }

    /// Runs `body` as `stage`: commits when it returns `Ok`, records the
    /// stage as failed (with the error's `{:#}` text as reason) when it
    /// returns `Err`. A store error while committing or recording is
    /// returned instead.
    pub fn run_stage<T, E>(
        &mut self,
        stage: Stage,
        body: impl FnOnce(&mut StageWriter<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError> + std::fmt::Display,
    {
        let mut w = self.begin(stage)?;
        match body(&mut w) {
            Ok(v) => {
                w.commit()?;
                Ok(v)
            }
            Err(e) => {
                w.fail(&format!("{e:#}"))?;
                Err(e)
            }
        }
    }

    /// `rdpbench run` starts: every stage's entry is reset, so nothing from
    /// an older run reads as current. Stages in `skipped` become `skipped`,
    /// every other stage `not_run` until it commits or fails. Files stay on
    /// disk but are no longer vouched for.
    pub fn start_run(&mut self, skipped: &[Stage]) -> Result<(), StoreError> {
        let mut m = self.manifest.clone();
        let now = now_utc();
        for s in Stage::ALL {
            let mut r = StageRecord::not_run();
            if skipped.contains(&s) {
                r.status = Status::Skipped;
                r.reason = Some("skipped (--skip)".into());
                r.command = Some(self.command.clone());
            }
            m.stages.insert(s, r);
        }
        m.run_started = Some(now);
        self.write_manifest(m)
    }

    /// Records `stage` as `status` (`skipped`, `not_run` or `failed`) with
    /// `reason`, without running it: for a stage `rdpbench run` decides
    /// not to run (its input stage failed, or a flag left it out). Its files
    /// are no longer vouched for. `Status::Ok` is refused (only a commit
    /// vouches).
    pub fn mark(&mut self, stage: Stage, status: Status, reason: &str) -> Result<(), StoreError> {
        assert!(
            status != Status::Ok,
            "only StageWriter::commit records a stage as ok"
        );
        let mut m = self.manifest.clone();
        let now = now_utc();
        m.stages.insert(
            stage,
            StageRecord {
                status,
                reason: Some(reason.to_string()),
                command: Some(self.command.clone()),
                started: None,
                finished: Some(now),
                files: Vec::new(),
            },
        );
        self.write_manifest(m)
    }

    /// The bytes of `file` if the manifest vouches for them: its stage's
    /// status is `ok`, the stage lists it, and the bytes on disk have the
    /// recorded SHA-256. `None` otherwise (missing, failed, never ran,
    /// changed since).
    pub fn read_vouched(&self, file: ResultFile) -> Result<Option<Vec<u8>>, StoreError> {
        read_vouched(&self.root, &self.manifest, file.path())
    }

    /// [`Store::read_vouched`], parsed as JSON into `T`; a vouched file
    /// that does not parse is [`StoreError::Parse`] naming it.
    pub fn read_vouched_json<T: serde::de::DeserializeOwned>(
        &self,
        file: ResultFile,
    ) -> Result<Option<T>, StoreError> {
        read_vouched_json(&self.root, &self.manifest, file.path())
    }

    /// [`Store::read_vouched`] for any path a stage recorded (e.g.
    /// `saes/<job>/eval.json`), relative to the results folder.
    pub fn read_vouched_path(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_vouched(&self.root, &self.manifest, rel)
    }

    /// Re-hashes every file `stage` vouches for; returns the paths whose
    /// bytes are missing or changed (empty: all intact).
    pub fn verify_stage(&self, stage: Stage) -> Result<Vec<String>, StoreError> {
        verify_stage(&self.root, &self.manifest, stage)
    }

    fn write_manifest(&mut self, mut m: Manifest) -> Result<(), StoreError> {
        m.command = self.command.clone();
        m.tool_version = crate::VERSION.into();
        m.updated = now_utc();
        write_atomic(&self.root.join(MANIFEST_FILE), &m.to_bytes())?;
        self.manifest = m;
        Ok(())
    }
}

/// One stage's writes. Fixed-name files ([`StageWriter::write`]) and files
/// inside the stage's folders ([`StageWriter::write_in`]) are staged under
/// `<root>/.staging/` (written and fsynced) and appear in the results
/// folder only at [`StageWriter::commit`], all together, after which
/// `run.json` vouches for them. Job folders ([`StageWriter::commit_folder`])
/// are committed at once, each atomically, so hours of training survive a
/// kill and resume can keep them.
#[derive(Debug)]
pub struct StageWriter<'s> {
    store: &'s mut Store,
    stage: Stage,
    staging: PathBuf,
    /// Staged files by path relative to the results folder.
    staged: BTreeMap<String, FileRecord>,
    /// Files of committed or kept folders, by path.
    folders: BTreeMap<String, FileRecord>,
    started: String,
    done: bool,
}

impl StageWriter<'_> {
    /// The stage being written.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The results folder.
    pub fn root(&self) -> &Path {
        &self.store.root
    }

    /// Stages `file` with `bytes` (replacing an earlier write of it in this
    /// stage). Fails with [`StoreError::WrongStage`] if another stage owns it.
    pub fn write(&mut self, file: ResultFile, bytes: &[u8]) -> Result<(), StoreError> {
        if file.stage() != self.stage {
            return Err(StoreError::WrongStage {
                file: file.path().into(),
                owner: file.stage().name(),
                writer: self.stage.name(),
            });
        }
        self.stage_file(file.path().to_string(), bytes)
    }

    /// Stages a file at `rel` inside the stage's folder `dir` (e.g.
    /// `ResultDir::TrainSaes`, `"job-1/eval.json"`, or
    /// `ResultDir::ValiditySaes`, `"train.json"`).
    pub fn write_in(&mut self, dir: ResultDir, rel: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.own(dir)?;
        check_rel(rel)?;
        self.stage_file(format!("{}/{rel}", dir.path()), bytes)
    }

    /// Writes the folder `<dir>/<name>` with `files` (name, bytes)
    /// atomically and at once: built and fsynced under `.staging/`, then
    /// renamed into place, replacing an older folder of that name. A folder
    /// that exists is therefore complete. Its files are vouched for when the
    /// stage commits. Returns the folder's path.
    ///
    /// Replacing a folder the stage's previous entry vouches for cannot
    /// keep that entry intact: the stage is first recorded as `running`
    /// (nothing vouched; `failed: interrupted` if the process dies before
    /// commit). The host's sweeps never do this (a finished job is kept
    /// with [`StageWriter::keep_folder`], a mismatching one is refused).
    pub fn commit_folder(
        &mut self,
        dir: ResultDir,
        name: &str,
        files: &[(&str, &[u8])],
    ) -> Result<PathBuf, StoreError> {
        self.own(dir)?;
        check_rel(name)?;
        let n = unique_suffix();
        let build = self.staging.join(format!("folder-{n}"));
        create_dir_all(&build)?;
        let mut records = Vec::new();
        let mut subdirs = BTreeSet::from([build.clone()]);
        for (file, bytes) in files {
            check_rel(file)?;
            let p = build.join(file);
            let parent = parent_of(&p);
            create_dir_all(&parent)?;
            subdirs.insert(parent);
            write_synced(&p, bytes)?;
            records.push(FileRecord {
                path: format!("{}/{name}/{file}", dir.path()),
                sha256: sha256_hex(bytes),
                bytes: bytes.len() as u64,
            });
        }
        for d in &subdirs {
            fsync_dir(d)?;
        }
        let target = self.store.root.join(dir.path()).join(name);
        let target_parent = parent_of(&target);
        create_dir_all(&target_parent)?;
        if target.exists() {
            self.retract_if_vouched(&format!("{}/{name}/", dir.path()))?;
            let trash = self.staging.join(format!("trash-{n}"));
            fs::rename(&target, &trash).map_err(|e| {
                StoreError::io(format!("move aside to {}", trash.display()), &target, e)
            })?;
            fs::remove_dir_all(&trash).map_err(|e| StoreError::io("remove", &trash, e))?;
        }
        fs::rename(&build, &target)
            .map_err(|e| StoreError::io(format!("rename {} to", build.display()), &target, e))?;
        fsync_dir(&target_parent)?;
        let prefix = format!("{}/{name}/", dir.path());
        self.folders.retain(|p, _| !p.starts_with(&prefix));
        for r in records {
            self.folders.insert(r.path.clone(), r);
        }
        Ok(target)
    }

    /// Keeps the existing folder `<dir>/<name>` (resume: a job finished by
    /// an earlier, possibly killed, run): hashes its files so the stage
    /// vouches for them at commit. Hidden entries are not vouched for.
    pub fn keep_folder(&mut self, dir: ResultDir, name: &str) -> Result<PathBuf, StoreError> {
        self.own(dir)?;
        check_rel(name)?;
        let target = self.store.root.join(dir.path()).join(name);
        self.vouch_tree(&target, &format!("{}/{name}", dir.path()))?;
        Ok(target)
    }

    /// The folder `dir`, created, for a tool that writes there itself
    /// (criterion; the SDK's resume checkpoints in `<dir>/.partial/`).
    /// Those writes are not atomic; call [`StageWriter::adopt_tree`] when
    /// the tool is done to vouch for what it left.
    pub fn dir_for_tool(&mut self, dir: ResultDir) -> Result<PathBuf, StoreError> {
        self.own(dir)?;
        let p = self.store.root.join(dir.path());
        create_dir_all(&p)?;
        Ok(p)
    }

    /// Hashes every (non-hidden) file under `dir` so the stage vouches for
    /// it at commit; for output a tool wrote itself (criterion).
    pub fn adopt_tree(&mut self, dir: ResultDir) -> Result<(), StoreError> {
        self.own(dir)?;
        let p = self.store.root.join(dir.path());
        self.vouch_tree(&p, dir.path())
    }

    /// Commits the stage: moves every staged file into place, then writes
    /// `run.json` with the stage `ok` and exactly the files written (or
    /// kept) by this writer; any other file the stage's previous entry
    /// listed is no longer vouched for. All or nothing: a journal is
    /// fsynced first, and a commit cut short by a crash is finished by the
    /// next [`Store::open`].
    pub fn commit(mut self) -> Result<(), StoreError> {
        let mut files: BTreeMap<String, FileRecord> = std::mem::take(&mut self.folders);
        let staged = std::mem::take(&mut self.staged);
        let staged_paths: Vec<String> = staged.keys().cloned().collect();
        files.extend(staged);
        // Staged files' folder entries must be durable before the journal is.
        let files_root = self.staging.join(STAGED_FILES);
        let mut dirs = BTreeSet::from([files_root.clone()]);
        for p in &staged_paths {
            dirs.insert(parent_of(&files_root.join(p)));
        }
        for d in &dirs {
            fsync_dir(d)?;
        }
        let mut m = self.store.manifest.clone();
        m.command = self.store.command.clone();
        m.tool_version = crate::VERSION.into();
        let now = now_utc();
        m.updated = now.clone();
        m.stages.insert(
            self.stage,
            StageRecord {
                status: Status::Ok,
                reason: None,
                command: Some(self.store.command.clone()),
                started: Some(self.started.clone()),
                finished: Some(now),
                files: files.into_values().collect(),
            },
        );
        let journal = Journal {
            files: staged_paths,
            manifest: m,
        };
        let bytes = serde_json::to_vec_pretty(&journal).expect("a journal always serializes");
        write_atomic(&self.staging.join(JOURNAL_FILE), &bytes)?;
        self.done = true;
        apply_journal(&self.store.root, &self.staging, &journal)?;
        self.store.manifest = journal.manifest;
        Ok(())
    }

    /// Records the stage as failed with `reason`; nothing staged is moved
    /// into place, and none of the stage's files are vouched for any more
    /// (a report shows the failure, not older data).
    pub fn fail(mut self, reason: &str) -> Result<(), StoreError> {
        self.done = true;
        let _ = fs::remove_dir_all(&self.staging);
        tidy_staging(&self.store.root);
        let mut m = self.store.manifest.clone();
        m.stages.insert(
            self.stage,
            StageRecord {
                status: Status::Failed,
                reason: Some(reason.to_string()),
                command: Some(self.store.command.clone()),
                started: Some(self.started.clone()),
                finished: Some(now_utc()),
                files: Vec::new(),
            },
        );
        self.store.write_manifest(m)
    }

    /// Before a folder the stage's previous entry vouches for is replaced:
    /// record the stage as `running` with no files, so that neither a
    /// reader now nor a report after a crash mixes the old entry with the
    /// new folder.
    fn retract_if_vouched(&mut self, prefix: &str) -> Result<(), StoreError> {
        let rec = self.store.manifest.stage(self.stage);
        if rec.status != Status::Ok || !rec.files.iter().any(|f| f.path.starts_with(prefix)) {
            return Ok(());
        }
        let mut m = self.store.manifest.clone();
        m.stages.insert(
            self.stage,
            StageRecord {
                status: Status::Running,
                reason: Some(format!("replacing {prefix} and the rest of its files")),
                command: Some(self.store.command.clone()),
                started: Some(self.started.clone()),
                finished: None,
                files: Vec::new(),
            },
        );
        self.store.write_manifest(m)
    }

    fn own(&self, dir: ResultDir) -> Result<(), StoreError> {
        if dir.stage() == self.stage {
            Ok(())
        } else {
            Err(StoreError::WrongStage {
                file: format!("{}/", dir.path()),
                owner: dir.stage().name(),
                writer: self.stage.name(),
            })
        }
    }

    fn stage_file(&mut self, rel: String, bytes: &[u8]) -> Result<(), StoreError> {
        let p = self.staging.join(STAGED_FILES).join(&rel);
        create_dir_all(&parent_of(&p))?;
        write_synced(&p, bytes)?;
        let r = FileRecord {
            path: rel.clone(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        };
        self.staged.insert(rel, r);
        Ok(())
    }

    fn vouch_tree(&mut self, dir: &Path, prefix: &str) -> Result<(), StoreError> {
        if !dir.is_dir() {
            return Err(StoreError::io(
                "vouch for folder",
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
            ));
        }
        let pre = format!("{prefix}/");
        self.folders.retain(|p, _| !p.starts_with(&pre));
        for rel in walk_files(dir)? {
            let (sha256, bytes) = sha256_file(&dir.join(&rel))?;
            let path = format!("{prefix}/{rel}");
            self.folders.insert(
                path.clone(),
                FileRecord {
                    path,
                    sha256,
                    bytes,
                },
            );
        }
        Ok(())
    }
}

impl Drop for StageWriter<'_> {
    /// Abandoned without commit or fail: discard what was staged.
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.staging);
            tidy_staging(&self.store.root);
        }
    }
}

/// A read-only view of a results folder's last committed run, for
/// `report` and `compare`. Takes no lock: `run.json` is replaced
/// atomically, so it always reads a committed manifest, and every read is
/// checked against its SHA-256, so a file replaced meanwhile by a running
/// stage reads as not vouched rather than as a mix of two runs.
#[derive(Debug, Clone)]
pub struct StoreReader {
    root: PathBuf,
    manifest: Manifest,
    has_manifest: bool,
}

impl StoreReader {
    /// Reads `<root>/run.json`. A folder without one (never written by a
    /// store, e.g. results from an rdpbench before the store) reads as
    /// "nothing ran": see [`StoreReader::has_manifest`].
    pub fn open(root: &Path) -> Result<StoreReader, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::io(
                "read results folder",
                root,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
            ));
        }
        let path = root.join(MANIFEST_FILE);
        let (manifest, has_manifest) = match fs::read(&path) {
            Ok(b) => (Manifest::parse(&b, &path)?, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Manifest::empty(""), false),
            Err(e) => return Err(StoreError::io("read", &path, e)),
        };
        Ok(StoreReader {
            root: root.to_path_buf(),
            manifest,
            has_manifest,
        })
    }

    /// The results folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest read at open.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether the folder had a `run.json`.
    pub fn has_manifest(&self) -> bool {
        self.has_manifest
    }

    /// See [`Store::read_vouched`].
    pub fn read_vouched(&self, file: ResultFile) -> Result<Option<Vec<u8>>, StoreError> {
        read_vouched(&self.root, &self.manifest, file.path())
    }

    /// See [`Store::read_vouched_json`].
    pub fn read_vouched_json<T: serde::de::DeserializeOwned>(
        &self,
        file: ResultFile,
    ) -> Result<Option<T>, StoreError> {
        read_vouched_json(&self.root, &self.manifest, file.path())
    }

    /// See [`Store::read_vouched_path`].
    pub fn read_vouched_path(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_vouched(&self.root, &self.manifest, rel)
    }

    /// See [`Store::verify_stage`].
    pub fn verify_stage(&self, stage: Stage) -> Result<Vec<String>, StoreError> {
        verify_stage(&self.root, &self.manifest, stage)
    }
}

fn read_vouched(root: &Path, m: &Manifest, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let Some((_, rec)) = m.vouched(rel) else {
        return Ok(None);
    };
    let path = root.join(rel);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", &path, e)),
    };
    if bytes.len() as u64 == rec.bytes && sha256_hex(&bytes) == rec.sha256 {
        Ok(Some(bytes))
    } else {
        Ok(None)
    }
}

fn read_vouched_json<T: serde::de::DeserializeOwned>(
    root: &Path,
    m: &Manifest,
    rel: &str,
) -> Result<Option<T>, StoreError> {
    match read_vouched(root, m, rel)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StoreError::Parse {
                path: root.join(rel),
                message: e.to_string(),
            }),
    }
}

fn verify_stage(root: &Path, m: &Manifest, stage: Stage) -> Result<Vec<String>, StoreError> {
    let mut bad = Vec::new();
    for f in &m.stage(stage).files {
        let path = root.join(&f.path);
        match sha256_file(&path) {
            Ok((h, n)) if h == f.sha256 && n == f.bytes => {}
            Ok(_) => bad.push(f.path.clone()),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                bad.push(f.path.clone())
            }
            Err(e) => return Err(e),
        }
    }
    Ok(bad)
}

/// Moves a journal's staged files into place, writes its manifest, and
/// removes the staging folder. Idempotent: a file already moved (its staged
/// copy gone) is skipped, so a commit cut short can be applied again.
fn apply_journal(root: &Path, staging: &Path, journal: &Journal) -> Result<(), StoreError> {
    let files_root = staging.join(STAGED_FILES);
    let mut parents = BTreeSet::new();
    for rel in &journal.files {
        let src = files_root.join(rel);
        if !src.exists() {
            continue;
        }
        let dst = root.join(rel);
        let parent = parent_of(&dst);
        create_dir_all(&parent)?;
        fs::rename(&src, &dst)
            .map_err(|e| StoreError::io(format!("rename {} to", src.display()), &dst, e))?;
        parents.insert(parent);
    }
    for p in &parents {
        fsync_dir(p)?;
    }
    write_atomic(&root.join(MANIFEST_FILE), &journal.manifest.to_bytes())?;
    fs::remove_dir_all(staging).map_err(|e| StoreError::io("remove", staging, e))?;
    tidy_staging(root);
    Ok(())
}

/// Removes `<root>/.staging` when nothing is staged any more.
fn tidy_staging(root: &Path) {
    // Fails (harmlessly) while another stage's staging folder is in it.
    let _ = fs::remove_dir(root.join(STAGING_DIR));
}

/// Called with the lock held: finishes journaled commits, discards all
/// other staging leftovers and stale temporary files in the results folder.
fn recover(root: &Path) -> Result<(), StoreError> {
    let staging_root = root.join(STAGING_DIR);
    if staging_root.is_dir() {
        let entries =
            fs::read_dir(&staging_root).map_err(|e| StoreError::io("list", &staging_root, e))?;
        let mut dirs: Vec<PathBuf> = Vec::new();
        for e in entries {
            let e = e.map_err(|e| StoreError::io("list", &staging_root, e))?;
            dirs.push(e.path());
        }
        dirs.sort();
        for d in dirs {
            let journal = d.join(JOURNAL_FILE);
            let parsed = if d.is_dir() {
                let mut text = Vec::new();
                File::open(&journal)
                    .and_then(|mut f| f.read_to_end(&mut text))
                    .ok()
                    .and_then(|_| serde_json::from_slice::<Journal>(&text).ok())
            } else {
                None
            };
            match parsed {
                Some(j) => apply_journal(root, &d, &j)?,
                None if d.is_dir() => {
                    fs::remove_dir_all(&d).map_err(|e| StoreError::io("remove", &d, e))?
                }
                None => fs::remove_file(&d).map_err(|e| StoreError::io("remove", &d, e))?,
            }
        }
        match fs::remove_dir(&staging_root) {
            Ok(()) => {}
            // Already removed by the last journal applied.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove", &staging_root, e)),
        }
    }
    let entries = fs::read_dir(root).map_err(|e| StoreError::io("list", root, e))?;
    for e in entries {
        let e = e.map_err(|e| StoreError::io("list", root, e))?;
        if e.file_name().to_string_lossy().contains(TMP_MARKER) {
            let p = e.path();
            fs::remove_file(&p)
                .map_err(|err| StoreError::io("remove stale temporary file", &p, err))?;
        }
    }
    Ok(())
}

/// `File::try_lock`, tried again for up to [`LOCK_GRACE`] while it would
/// block. A lock just released can still look held for a moment: a process
/// that forks (to start a worker) between our `open` and `exec` holds a copy
/// of every descriptor, the lock's included, until the child's `exec` closes
/// it. A real holder keeps it far longer, so a second run still fails at once.
fn try_lock_briefly(lock: &fs::File) -> Result<(), fs::TryLockError> {
    let start = std::time::Instant::now();
    loop {
        match lock.try_lock() {
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_GRACE => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// How long [`try_lock_briefly`] keeps trying.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(200);
