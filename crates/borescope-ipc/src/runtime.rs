//! The per-user runtime directory: where the daemons' sockets, locks, logs and session records
//! live. It is created mode 0700 and refused if someone else owns it or others can enter it.
//!
//! Each borescope build has its own daemon in its own subdirectory, `build-<id>/` (see
//! [`build_id`](crate::protocol::build_id)): two builds on one machine (an installed release
//! and a development build, or a build and its rebuild) never replace or stop each other's
//! daemon, and each keeps its own session records for crash reporting.

use crate::IpcError;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Prefix of each build's directory inside the runtime directory.
pub const BUILD_DIR_PREFIX: &str = "build-";

/// Paths of one build's daemon inside a runtime directory.
#[derive(Debug, Clone)]
pub struct RuntimePaths {
    /// The runtime directory (shared by every build).
    pub dir: PathBuf,
    /// The build whose daemon these paths are for.
    pub build: String,
}

impl RuntimePaths {
    /// This build's paths in the default directory (see `borescope_static::runtime_dir`).
    pub fn default_location() -> RuntimePaths {
        RuntimePaths::for_build(borescope_static::runtime_dir(), crate::protocol::build_id())
    }

    /// The paths of `build`'s daemon in `dir`.
    pub fn for_build(dir: PathBuf, build: String) -> RuntimePaths {
        RuntimePaths { dir, build }
    }

    /// This build's own directory.
    pub fn build_dir(&self) -> PathBuf {
        self.dir.join(format!("{BUILD_DIR_PREFIX}{}", self.build))
    }

    /// The daemon socket.
    pub fn socket(&self) -> PathBuf {
        self.build_dir().join(borescope_static::DAEMON_SOCKET)
    }

    /// The daemon log.
    pub fn log(&self) -> PathBuf {
        self.build_dir().join(borescope_static::DAEMON_LOG)
    }

    /// The running daemon's pid.
    pub fn pid(&self) -> PathBuf {
        self.build_dir().join("daemon.pid")
    }

    /// The lock only one daemon (of this build) can hold.
    pub fn lock(&self) -> PathBuf {
        self.build_dir().join("daemon.lock")
    }

    /// Session records (one JSON file per live session).
    pub fn sessions(&self) -> PathBuf {
        self.build_dir().join("sessions")
    }

    /// The paths of every other build that has a directory here.
    pub fn other_builds(&self) -> Vec<RuntimePaths> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut builds: Vec<RuntimePaths> = entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.strip_prefix(BUILD_DIR_PREFIX).map(str::to_string))
            .filter(|build| *build != self.build)
            .map(|build| RuntimePaths::for_build(self.dir.clone(), build))
            .collect();
        builds.sort_by(|a, b| a.build.cmp(&b.build));
        builds
    }

    /// Creates the directory (0700) if needed and checks it is private to us.
    pub fn ensure(&self) -> Result<(), IpcError> {
        let fail = |message: String| IpcError::RuntimeDir {
            path: self.dir.clone(),
            message,
        };
        if !self.dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|e| fail(format!("cannot create it: {e}")))?;
        }
        check_private(&self.dir).map_err(fail)?;
        for (dir, what) in [(self.build_dir(), "this build's directory"), (self.sessions(), "`sessions`")] {
            if !dir.exists() {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&dir)
                    .map_err(|e| fail(format!("cannot create {what} `{}`: {e}", dir.display())))?;
            }
        }
        Ok(())
    }
}

/// Refuses a directory that is not ours or that others can enter.
fn check_private(dir: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("cannot inspect it: {e}"))?;
    if !meta.is_dir() {
        return Err("it is not a directory (a symlink or file is in the way)".into());
    }
    let uid = nix::unistd::getuid().as_raw();
    if meta.uid() != uid {
        return Err(format!(
            "it belongs to uid {}, not to you (uid {uid}); set BORESCOPE_RUNTIME_DIR to a directory of your own",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "its mode is {mode:o}; others could reach the debugger socket. Fix: `chmod 700 {}`",
            dir.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_and_refuses_open_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = RuntimePaths::for_build(tmp.path().join("rt"), "b1".into());
        paths.ensure().unwrap();
        assert!(paths.sessions().starts_with(paths.dir.join("build-b1")));
        let mode = fs::metadata(&paths.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&paths.dir, fs::Permissions::from_mode(0o755)).unwrap();
        let err = paths.ensure().unwrap_err().to_string();
        assert!(err.contains("chmod 700"), "{err}");
    }

    #[test]
    fn each_build_sees_the_others_but_not_itself() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rt");
        let mine = RuntimePaths::for_build(dir.clone(), "aaa".into());
        let theirs = RuntimePaths::for_build(dir.clone(), "bbb".into());
        mine.ensure().unwrap();
        theirs.ensure().unwrap();
        fs::create_dir(dir.join("sessions-not-a-build")).unwrap();
        let others: Vec<String> = mine.other_builds().into_iter().map(|p| p.build).collect();
        assert_eq!(others, ["bbb"]);
        assert_ne!(mine.socket(), theirs.socket());
    }
}
