//! Where criterion's own console output goes while it measures.
//!
//! criterion 0.8 used as a library always prints: result lines
//! (`time: [...]`) with `println!` on stdout, progress and warnings with
//! `eprintln!` on stderr. Its public builder has no switch for this (the
//! reporters are chosen only by `configure_from_args`, which parses the
//! process's own arguments, or by a cargo-criterion connection), so the
//! streams are redirected at the file-descriptor level around each metric's
//! criterion group ([`Redirect`]): with `dup2` (safe wrappers from `nix`),
//! restored when the guard drops. Only criterion runs while a redirect is
//! active; rdpbench's own progress is written between groups.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// Destination of criterion's console output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CriterionOutput {
    /// Left alone: results on stdout, progress on stderr.
    Inherit,
    /// Everything on stderr, so that stdout carries only rdpbench's output
    /// (e.g. `bench --json`).
    Stderr,
    /// Both streams appended to this file (quiet runs; criterion's warnings,
    /// such as "Unable to complete 10 samples", stay readable there).
    Log(PathBuf),
}

/// Redirects the process's stdout (and, for [`CriterionOutput::Log`],
/// stderr) until dropped.
#[derive(Debug)]
pub struct Redirect {
    #[cfg(unix)]
    saved_stdout: Option<std::os::fd::OwnedFd>,
    #[cfg(unix)]
    saved_stderr: Option<std::os::fd::OwnedFd>,
}

impl Redirect {
    /// Starts redirecting as `output` says; errors name the log file.
    #[cfg(unix)]
    pub fn start(output: &CriterionOutput) -> Result<Self> {
        use std::io::Write;
        use std::os::fd::AsFd;
        let mut guard = Self {
            saved_stdout: None,
            saved_stderr: None,
        };
        let dup = |fd: std::os::fd::BorrowedFd<'_>| {
            fd.try_clone_to_owned()
                .context("cannot duplicate a standard stream")
        };
        match output {
            CriterionOutput::Inherit => {}
            CriterionOutput::Stderr => {
                std::io::stdout().flush()?;
                guard.saved_stdout = Some(dup(std::io::stdout().as_fd())?);
                nix::unistd::dup2_stdout(std::io::stderr().as_fd())
                    .context("cannot point stdout at stderr")?;
            }
            CriterionOutput::Log(path) => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open criterion log {}", path.display()))?;
                std::io::stdout().flush()?;
                std::io::stderr().flush()?;
                guard.saved_stdout = Some(dup(std::io::stdout().as_fd())?);
                guard.saved_stderr = Some(dup(std::io::stderr().as_fd())?);
                nix::unistd::dup2_stdout(&log)
                    .with_context(|| format!("cannot point stdout at {}", path.display()))?;
                nix::unistd::dup2_stderr(&log)
                    .with_context(|| format!("cannot point stderr at {}", path.display()))?;
            }
        }
        Ok(guard)
    }

    /// Elsewhere criterion's output is left alone.
    #[cfg(not(unix))]
    pub fn start(_output: &CriterionOutput) -> Result<Self> {
        Ok(Self {})
    }
}

impl Drop for Redirect {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::io::Write;
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            if let Some(fd) = self.saved_stdout.take() {
                let _ = nix::unistd::dup2_stdout(&fd);
            }
            if let Some(fd) = self.saved_stderr.take() {
                let _ = nix::unistd::dup2_stderr(&fd);
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// `(device, inode)` of what a standard stream points at now.
    fn identity(fd: std::os::fd::BorrowedFd<'_>) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        let file = std::fs::File::from(fd.try_clone_to_owned().unwrap());
        let m = file.metadata().unwrap();
        (m.dev(), m.ino())
    }

    #[test]
    fn a_log_redirect_captures_both_streams_and_restores_them() {
        use std::io::Write;
        use std::os::fd::AsFd;
        let dir = std::env::temp_dir().join(format!("rdpbench-redirect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("criterion.log");
        let _ = std::fs::remove_file(&log);
        let before = (
            identity(std::io::stdout().as_fd()),
            identity(std::io::stderr().as_fd()),
        );
        {
            let _guard = Redirect::start(&CriterionOutput::Log(log.clone())).unwrap();
            let log_id = identity(std::fs::File::open(&log).unwrap().as_fd());
            assert_eq!(identity(std::io::stdout().as_fd()), log_id);
            assert_eq!(identity(std::io::stderr().as_fd()), log_id);
            // Written to the file descriptors, as criterion's println! does.
            std::io::stdout().write_all(b"to stdout\n").unwrap();
            std::io::stderr().write_all(b"to stderr\n").unwrap();
        }
        let after = (
            identity(std::io::stdout().as_fd()),
            identity(std::io::stderr().as_fd()),
        );
        assert_eq!(after, before, "both streams restored");
        // Other test threads may write meanwhile: look for ours, not equality.
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("to stdout\n") && text.contains("to stderr\n"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
