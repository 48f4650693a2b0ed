//! debugpy as borescope provides it: a pure-Python copy in the cache, used only when the user
//! consents (`--provision-debugpy`) or when attaching to a process that lacks one.
//!
//! The copy is the universal (`py2.py3-none-any`) wheel, so any CPython 3.8+ can import it from
//! `sys.path`; the program's own environment is never modified.

use crate::DebuggerError;
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub use borescope_static::DEBUGPY_VERSION;

/// How many times pip runs before provisioning gives up: a download from a package index can
/// fail once on a busy network, and the user would otherwise have to attach again.
const PIP_ATTEMPTS: u32 = 3;

/// Directory holding the cached `debugpy` package (put it on `sys.path`).
pub fn cached_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("debugpy").join(DEBUGPY_VERSION)
}

/// Returns the cached copy, downloading it with pip (from PyPI or the configured index) if
/// it is missing.
pub async fn provision(cache_dir: &Path) -> Result<PathBuf, DebuggerError> {
    let dir = cached_dir(cache_dir);
    if let Some(parent) = dir.parent() {
        remove_abandoned_staging(parent);
    }
    if dir.join("debugpy").join("__init__.py").is_file() {
        return Ok(dir);
    }
    let staging = dir.with_extension(format!("staging-{}", std::process::id()));
    let fail = |message: String| DebuggerError::Provision {
        dir: dir.clone(),
        message,
    };
    let mut attempt = 1;
    loop {
        let _ = std::fs::remove_dir_all(&staging);
        let output = tokio::process::Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"])
            .args(["--only-binary=:all:", "--platform", "any", "--target"])
            .arg(&staging)
            .arg(format!("debugpy=={DEBUGPY_VERSION}"))
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| fail(format!("cannot run `python3 -m pip`: {e}")))?;
        if output.status.success() {
            break;
        }
        let _ = std::fs::remove_dir_all(&staging);
        let reason = pip_failure(&String::from_utf8_lossy(&output.stderr));
        if attempt == PIP_ATTEMPTS {
            return Err(fail(format!("pip failed {PIP_ATTEMPTS} times: {reason}")));
        }
        tracing::warn!(attempt, %reason, "downloading debugpy failed; trying again");
        tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(attempt))).await;
        attempt += 1;
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
    }
    match std::fs::rename(&staging, &dir) {
        Ok(()) => Ok(dir),
        Err(_) if dir.join("debugpy").is_dir() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(dir)
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

/// The part of pip's stderr that says why it failed: its `ERROR:` lines, else its last lines
/// that are not warnings or a pyenv shim's chatter.
fn pip_failure(stderr: &str) -> String {
    let errors: Vec<&str> = stderr.lines().map(str::trim).filter(|l| l.starts_with("ERROR:")).collect();
    let chosen: Vec<&str> = if errors.is_empty() {
        let meaningful: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("WARNING:") && !l.starts_with("pyenv:") && !l.starts_with("rm: "))
            .collect();
        meaningful[meaningful.len().saturating_sub(3)..].to_vec()
    } else {
        errors
    };
    if chosen.is_empty() {
        "it printed no reason".to_string()
    } else {
        chosen.join(" / ")
    }
}

/// Removes the half-made copies (`*.staging-PID`) left by borescope processes killed while
/// downloading; one whose process still runs is left to it.
fn remove_abandoned_staging(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.rsplit_once(".staging-").and_then(|(_, pid)| pid.parse::<i32>().ok()) else {
            continue;
        };
        if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH) {
            tracing::debug!(path = %entry.path().display(), "removing an abandoned debugpy download");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A random hex token (128 bits from the kernel), for debugpy's access check.
pub fn random_token() -> Result<String, DebuggerError> {
    let mut bytes = [0u8; 16];
    let mut file = std::fs::File::open("/dev/urandom")
        .map_err(DebuggerError::io("opening /dev/urandom"))?;
    std::io::Read::read_exact(&mut file, &mut bytes).map_err(DebuggerError::io("reading /dev/urandom"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_downloads_of_processes_that_are_gone_are_removed() {
        let cache = tempfile::tempdir().unwrap();
        let parent = cache.path().join("debugpy");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let dead = parent.join(format!("1.8.staging-{gone}"));
        let live = parent.join(format!("1.8.staging-{}", std::process::id()));
        let kept = parent.join(DEBUGPY_VERSION);
        for dir in [&dead, &live, &kept] {
            std::fs::create_dir_all(dir.join("debugpy")).unwrap();
        }
        remove_abandoned_staging(&parent);
        assert!(!dead.exists() && live.exists() && kept.exists());
    }

    #[test]
    fn a_pip_failure_is_told_by_its_errors_not_its_warnings() {
        let stderr = "WARNING: Retrying (Retry(total=4)) after connection broken\n\
            ERROR: Could not find a version that satisfies the requirement debugpy==1.8.22\n\
            ERROR: No matching distribution found for debugpy==1.8.22\n\
            WARNING: Running pip as the 'root' user can result in broken permissions\n\
            rm: cannot remove '/root/.pyenv/shims/tmp.x': No such file or directory\n\
            pyenv: cannot rehash: /root/.pyenv/shims isn't writable\n";
        assert_eq!(
            pip_failure(stderr),
            "ERROR: Could not find a version that satisfies the requirement debugpy==1.8.22 / \
             ERROR: No matching distribution found for debugpy==1.8.22"
        );
        assert_eq!(pip_failure("WARNING: only a warning\nTraceback\nOSError: disk full\n"), "Traceback / OSError: disk full");
        assert_eq!(pip_failure("pyenv: cannot rehash\n"), "it printed no reason");
    }
}
