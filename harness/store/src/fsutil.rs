//! File-system primitives: atomic writes, fsync of folders, hashing,
//! name checks and UTC timestamps. Every error names its path.

use crate::StoreError;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Marker in the names of temporary files made by [`write_atomic`].
pub(crate) const TMP_MARKER: &str = ".rdpbench-tmp.";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique within this process and across processes (pid).
pub(crate) fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}.{n}", std::process::id())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder
/// (`.<name>.rdpbench-tmp.<pid>.<n>`), written and fsynced, then renamed
/// over `path`, then the folder fsynced. A reader sees the old content or
/// the new, never a mix; after a crash the old file is intact (a stale
/// temporary file may remain; [`crate::Store::open`] removes those in the
/// results folder). The parent folder must exist.
///
/// For files outside a results folder too (scaffolds, `--baseline` diffs
/// written elsewhere, `report --out FILE`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::BadName {
            name: path.display().to_string(),
        })?
        .to_string_lossy()
        .into_owned();
    let dir = parent_of(path);
    let tmp = dir.join(format!(".{name}{TMP_MARKER}{}", unique_suffix()));
    let result = (|| {
        write_synced(&tmp, bytes)?;
        fs::rename(&tmp, path)
            .map_err(|e| StoreError::io(format!("rename {} to", tmp.display()), path, e))?;
        fsync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The folder holding `path` (`.` for a bare name).
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates (truncating) `path`, writes `bytes` and fsyncs the file.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = File::create(path).map_err(|e| StoreError::io("create", path, e))?;
    f.write_all(bytes)
        .map_err(|e| StoreError::io("write", path, e))?;
    f.sync_all().map_err(|e| StoreError::io("fsync", path, e))
}

/// fsyncs a folder so that renames into it survive a power loss.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    if !cfg!(unix) {
        // Elsewhere a folder cannot be opened as a file; renames are
        // journaled by the file system itself (NTFS).
        return Ok(());
    }
    let f = File::open(dir).map_err(|e| StoreError::io("open folder", dir, e))?;
    match f.sync_all() {
        Ok(()) => Ok(()),
        // Some file systems refuse fsync on a folder; nothing more can be done there.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        Err(e) => Err(StoreError::io("fsync folder", dir, e)),
    }
}

/// `create_dir_all`, naming the folder on failure.
pub(crate) fn create_dir_all(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(|e| StoreError::io("create folder", dir, e))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 and length of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<(String, u64), StoreError> {
    let mut f = File::open(path).map_err(|e| StoreError::io("open", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| StoreError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        n_total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex(&h.finalize()), n_total))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a caller-supplied relative path (`a/b.json`): non-empty, only
/// normal components, none hidden (a leading `.` is reserved for the
/// store's own files and unvouched scratch such as `.partial`).
pub(crate) fn check_rel(name: &str) -> Result<(), StoreError> {
    let bad = || StoreError::BadName {
        name: name.to_string(),
    };
    if name.is_empty() || name.contains('\\') {
        return Err(bad());
    }
    let mut any = false;
    for c in Path::new(name).components() {
        match c {
            Component::Normal(s) if !s.to_string_lossy().starts_with('.') => any = true,
            _ => return Err(bad()),
        }
    }
    if any { Ok(()) } else { Err(bad()) }
}

/// Every regular file under `dir` (recursively), as `/`-separated paths
/// relative to `dir`, sorted; entries whose name starts with `.` are
/// skipped (scratch, temporary files).
pub(crate) fn walk_files(dir: &Path) -> Result<Vec<String>, StoreError> {
    fn go(base: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), StoreError> {
        let here = if rel.is_empty() {
            base.to_path_buf()
        } else {
            base.join(rel)
        };
        let entries = fs::read_dir(&here).map_err(|e| StoreError::io("list", &here, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", &here, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ty = entry
                .file_type()
                .map_err(|e| StoreError::io("stat", entry.path(), e))?;
            if ty.is_dir() {
                go(base, &child, out)?;
            } else if ty.is_file() {
                out.push(child);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// Now, as RFC 3339 UTC with second precision (`2026-12-02T04:56:56Z`).
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 UTC (proleptic Gregorian).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_187_416), "2026-12-02T04:56:56Z");
    }

    #[test]
    fn rel_names() {
        for ok in ["a", "a/b.json", "job-1/cfg.json"] {
            assert!(check_rel(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/abs",
            "../x",
            "a/../b",
            ".hidden",
            "a/.partial/x",
            "./a",
            "a\\b",
        ] {
            assert!(check_rel(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
