//! The Python agent that runs inside debugged programs, embedded in the binary.
//!
//! The agent's source lives in the repository under `python/` (a stdlib-only package plus a
//! `sitecustomize.py` bootstrap). This crate embeds those files with `include_str!` and unpacks
//! them into a content-addressed directory of the cache on first use, so users never install
//! anything to probe, and two borescope versions never share a half-updated copy.
//!
//! It also says how a program's interpreters load it at start-up ([`boot_env`]: the unpacked
//! directory first on `PYTHONPATH`, the job in `BORESCOPE_AGENT_JOB`), for every caller that
//! starts a program with the agent (probes, sessions, `borescope run`). It owns nothing else:
//! what a job looks like and how reports are read belong to the capability that runs it.

#![deny(missing_docs)]

pub mod jobs;

use borescope_static::EnvVars;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every agent file, as (path relative to the agent root, contents).
pub const FILES: &[(&str, &str)] = &[
    ("sitecustomize.py", include_str!("../../../python/sitecustomize.py")),
    ("borescope_agent/__init__.py", include_str!("../../../python/borescope_agent/__init__.py")),
    ("borescope_agent/boot.py", include_str!("../../../python/borescope_agent/boot.py")),
    ("borescope_agent/capture.py", include_str!("../../../python/borescope_agent/capture.py")),
    ("borescope_agent/channel.py", include_str!("../../../python/borescope_agent/channel.py")),
    ("borescope_agent/lambda_relay.py", include_str!("../../../python/borescope_agent/lambda_relay.py")),
    ("borescope_agent/lambda_shim.py", include_str!("../../../python/borescope_agent/lambda_shim.py")),
    ("borescope_agent/lambda_worker.py", include_str!("../../../python/borescope_agent/lambda_worker.py")),
    ("borescope_agent/lambda_wrapper.sh", include_str!("../../../python/borescope_agent/lambda_wrapper.sh")),
    ("borescope_agent/lines.py", include_str!("../../../python/borescope_agent/lines.py")),
    ("borescope_agent/listen.py", include_str!("../../../python/borescope_agent/listen.py")),
    ("borescope_agent/pod.py", include_str!("../../../python/borescope_agent/pod.py")),
    ("borescope_agent/pod_job.py", include_str!("../../../python/borescope_agent/pod_job.py")),
    ("borescope_agent/pod_ptrace.py", include_str!("../../../python/borescope_agent/pod_ptrace.py")),
    ("borescope_agent/probe.py", include_str!("../../../python/borescope_agent/probe.py")),
    ("borescope_agent/remote.py", include_str!("../../../python/borescope_agent/remote.py")),
    ("borescope_agent/rewrite.py", include_str!("../../../python/borescope_agent/rewrite.py")),
    ("borescope_agent/safe_expr.py", include_str!("../../../python/borescope_agent/safe_expr.py")),
    ("borescope_agent/session_view.py", include_str!("../../../python/borescope_agent/session_view.py")),
    ("borescope_agent/snapshot_capture.py", include_str!("../../../python/borescope_agent/snapshot_capture.py")),
    ("borescope_agent/snapshot_exceptions.py", include_str!("../../../python/borescope_agent/snapshot_exceptions.py")),
    ("borescope_agent/snapshot_hooks.py", include_str!("../../../python/borescope_agent/snapshot_hooks.py")),
    ("borescope_agent/snapshot_imports.py", include_str!("../../../python/borescope_agent/snapshot_imports.py")),
    ("borescope_agent/snapshot_probe.py", include_str!("../../../python/borescope_agent/snapshot_probe.py")),
    ("borescope_agent/snapshot_servers.py", include_str!("../../../python/borescope_agent/snapshot_servers.py")),
    ("borescope_agent/snapshot_source.py", include_str!("../../../python/borescope_agent/snapshot_source.py")),
    ("borescope_agent/snapshot_transport.py", include_str!("../../../python/borescope_agent/snapshot_transport.py")),
    ("borescope_agent/snapshots.py", include_str!("../../../python/borescope_agent/snapshots.py")),
];

/// Name of the marker file written last; a directory without it is incomplete.
const COMPLETE_MARKER: &str = ".complete";

/// Why the agent could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Writing into the cache failed.
    #[error("cannot unpack the Python agent into `{path}`")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A short hash of every file's path and contents (FNV-1a, 64 bits), naming the directory.
pub fn content_hash() -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for (path, text) in FILES {
        for byte in path.bytes().chain([0u8]).chain(text.bytes()).chain([0u8]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("{hash:016x}")
}

/// Unpacks the agent under `cache_dir/agent/<hash>` if needed and returns that directory (the
/// one to put first on `PYTHONPATH`).
pub fn materialize(cache_dir: &Path) -> Result<PathBuf, AgentError> {
    let root = cache_dir.join("agent");
    let target = root.join(content_hash());
    if target.join(COMPLETE_MARKER).exists() {
        return Ok(target);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AgentError::Io { path, source }
    };
    fs::create_dir_all(&root).map_err(io(&root))?;
    let staging = root.join(format!(".staging-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    for (rel, text) in FILES {
        let path = staging.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut file = fs::File::create(&path).map_err(io(&path))?;
        file.write_all(text.as_bytes()).map_err(io(&path))?;
    }
    let marker = staging.join(COMPLETE_MARKER);
    fs::write(&marker, b"").map_err(io(&marker))?;
    match fs::rename(&staging, &target) {
        Ok(()) => {}
        // Another process unpacked the same version first: theirs is identical, use it.
        Err(_) if target.join(COMPLETE_MARKER).exists() => {
            let _ = fs::remove_dir_all(&staging);
        }
        Err(source) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(AgentError::Io {
                path: target,
                source,
            });
        }
    }
    tracing::debug!(dir = %target.display(), "unpacked python agent");
    Ok(target)
}

/// The environment variables that make every Python process of a program load the agent from
/// `agent_dir` (see [`materialize`]) at start-up and run `job` (JSON): `PYTHONPATH` with the
/// directory first and `existing_path` (the program's own `PYTHONPATH`, if any) after it, the
/// directory itself (so the agent can take itself off the path), and the job.
pub fn boot_env(agent_dir: &Path, job: &str, existing_path: Option<&str>) -> Vec<(String, String)> {
    let dir = agent_dir.display().to_string();
    let path = match existing_path.filter(|rest| !rest.is_empty()) {
        Some(rest) => format!("{dir}:{rest}"),
        None => dir.clone(),
    };
    vec![
        (EnvVars::PYTHONPATH.into(), path),
        (EnvVars::BORESCOPE_AGENT_PATH.into(), dir),
        (EnvVars::BORESCOPE_AGENT_JOB.into(), job.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_env_puts_the_agent_first_and_keeps_the_program_path() {
        let env = boot_env(Path::new("/cache/agent/abc"), "{}", Some("/app/lib"));
        assert_eq!(env[0], ("PYTHONPATH".to_string(), "/cache/agent/abc:/app/lib".to_string()));
        assert_eq!(env[1].1, "/cache/agent/abc");
        assert_eq!(env[2], ("BORESCOPE_AGENT_JOB".to_string(), "{}".to_string()));
        let alone = boot_env(Path::new("/a"), "{}", Some(""));
        assert_eq!(alone[0].1, "/a");
    }

    #[test]
    fn every_file_of_the_package_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/borescope_agent");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the agent's sources") {
            let name = entry.expect("entry").file_name().to_string_lossy().to_string();
            if name.ends_with(".py") || name.ends_with(".sh") {
                let path = format!("borescope_agent/{name}");
                if !FILES.iter().any(|(embedded, _)| *embedded == path) {
                    missing.push(path);
                }
            }
        }
        assert!(missing.is_empty(), "not embedded (add them to FILES): {missing:?}");
    }

    #[test]
    fn materialize_is_idempotent_and_complete() {
        let dir = tempfile::tempdir().unwrap();
        let first = materialize(dir.path()).unwrap();
        let second = materialize(dir.path()).unwrap();
        assert_eq!(first, second);
        for (rel, text) in FILES {
            assert_eq!(&fs::read_to_string(first.join(rel)).unwrap(), text);
        }
    }

    #[test]
    fn every_python_and_shell_file_in_the_package_is_embedded() {
        let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../python/borescope_agent");
        for entry in fs::read_dir(package).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".py") || name.ends_with(".sh") {
                let rel = format!("borescope_agent/{name}");
                assert!(FILES.iter().any(|(p, _)| *p == rel), "{rel} is not embedded");
            }
        }
    }
}
