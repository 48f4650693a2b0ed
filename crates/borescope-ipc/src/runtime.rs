//! The per-user runtime directory: where the daemon's socket, lock, log and session records
//! live. It is created mode 0700 and refused if someone else owns it or others can enter it.

use crate::IpcError;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Paths inside a runtime directory.
#[derive(Debug, Clone)]
pub struct RuntimePaths {
    /// The directory.
    pub dir: PathBuf,
}

impl RuntimePaths {
    /// The default directory (see `borescope_static::runtime_dir`).
    pub fn default_location() -> RuntimePaths {
        RuntimePaths {
            dir: borescope_static::runtime_dir(),
        }
    }

    /// The daemon socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join(borescope_static::DAEMON_SOCKET)
    }

    /// The daemon log.
    pub fn log(&self) -> PathBuf {
        self.dir.join(borescope_static::DAEMON_LOG)
    }

    /// The running daemon's pid.
    pub fn pid(&self) -> PathBuf {
        self.dir.join("daemon.pid")
    }

    /// The lock only one daemon can hold.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("daemon.lock")
    }

    /// Session records (one JSON file per live session).
    pub fn sessions(&self) -> PathBuf {
        self.dir.join("sessions")
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
        let sessions = self.sessions();
        if !sessions.exists() {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&sessions)
                .map_err(|e| fail(format!("cannot create `sessions`: {e}")))?;
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
        let paths = RuntimePaths { dir: tmp.path().join("rt") };
        paths.ensure().unwrap();
        let mode = fs::metadata(&paths.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&paths.dir, fs::Permissions::from_mode(0o755)).unwrap();
        let err = paths.ensure().unwrap_err().to_string();
        assert!(err.contains("chmod 700"), "{err}");
    }
}
