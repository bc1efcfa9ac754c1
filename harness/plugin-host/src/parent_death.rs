//! A worker process must not outlive its parent: on Linux the kernel sends
//! it SIGKILL when the parent dies (`PR_SET_PDEATHSIG`); everywhere, the
//! worker also exits when its stdin pipe from the parent closes (see
//! [`crate::isolate`]).

/// Asks the kernel to SIGKILL this process when its parent dies (Linux;
/// elsewhere a no-op, the pipe watchdog covers it). The signal follows the
/// death of the parent *thread* that spawned this process: the parent waits
/// for its workers on the thread that started them.
pub fn kill_me_when_parent_dies() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG, sig) takes an integer signal number
        // and touches no memory of ours.
        let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
        if rc != 0 {
            tracing::warn!(
                "prctl(PR_SET_PDEATHSIG) failed: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// This process's parent id (Unix), to detect a parent that died before
/// [`kill_me_when_parent_dies`] took effect.
pub fn parent_pid() -> Option<u32> {
    #[cfg(unix)]
    {
        Some(std::os::unix::process::parent_id())
    }
    #[cfg(not(unix))]
    {
        None
    }
}
