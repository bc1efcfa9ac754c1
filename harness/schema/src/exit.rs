//! The process exit codes, one per class of outcome. Documented in
//! docs/configuration.md and the README.

/// What a finished command means for the calling shell or CI job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: everything asked for was done and nothing failed.
    Ok = 0,
    /// 1: an unexpected internal error (a bug, or an I/O failure).
    Internal = 1,
    /// 2: bad command line, configuration or input file; also sizes that
    /// cannot fit in memory and training settings outside a plugin's
    /// declared ranges, refused before any work.
    Usage = 2,
    /// 3: a plugin failed to load, failed, crashed or hung past its call
    /// limit. In `check` the rest of the run went on and its results were
    /// still written; a stage that needs the call's answer ends there,
    /// keeping the files already written.
    Plugin = 3,
    /// 4: `check --strict`: some metric failed some condition.
    ConditionsFailed = 4,
    /// 5: `check --baseline` / `compare`: a metric lost a condition it
    /// passed in the baseline, by failing it or by not being checked
    /// (unless `--allow-missing` names it).
    Regression = 5,
    /// 6: the results folder is in use: another rdpbench run holds its lock.
    /// Nothing was written.
    Locked = 6,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error that carries the exit class it maps to.
#[derive(Debug)]
pub struct ClassifiedError {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl std::fmt::Display for ClassifiedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for ClassifiedError {}

/// Tags an error as a usage/configuration error (exit 2).
pub fn usage_error(error: anyhow::Error) -> anyhow::Error {
    ClassifiedError {
        exit: Exit::Usage,
        error,
    }
    .into()
}

/// The exit class of an error: the first [`ClassifiedError`] in its chain, else internal.
pub fn classify(error: &anyhow::Error) -> Exit {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<ClassifiedError>().map(|c| c.exit))
        .unwrap_or(Exit::Internal)
}
