//! A private directory inside the target's filesystem view, for the files a job needs (the
//! agent, the job, the script PEP 768 runs, its status report).
//!
//! The directory is created through `/proc/PID/root`, so it lands in a container's own `/tmp`
//! when the target runs in one (that `/tmp` resolved in the container's root, so a symlink of
//! the container's never leads into the host's filesystem), and its path in the target's view
//! is what the target is given.
//! It is mode 0700 and owned by the target's user (borescope chowns it when running as root),
//! so the target can read it and write its status, and nobody else can read the debugger token
//! in it.

use crate::target::Target;
use crate::AttachError;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Longest script path CPython accepts, minus room for `/run.py`.
const MAX_DIR_LEN: usize = 500;

/// A directory borescope owns inside the target's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectionDir {
    /// Its path as the target sees it.
    pub inside: String,
    /// The same directory as we reach it.
    pub outside: PathBuf,
    /// The target's user, when borescope (as root) must give it what it creates.
    owner: Option<(u32, u32)>,
}

impl InjectionDir {
    /// Creates `borescope-<label>` under the first of `/tmp`, `/dev/shm`, `$TMPDIR` (the
    /// target's) that works.
    pub fn create(target: &Target, label: &str) -> Result<InjectionDir, AttachError> {
        let mut bases = vec!["/tmp".to_string(), "/dev/shm".to_string()];
        if let Some((_, tmpdir)) = borescope_inject::procfs::environ(target.pid)
            .unwrap_or_default()
            .into_iter()
            .find(|(k, v)| k == "TMPDIR" && v.starts_with('/'))
        {
            bases.push(tmpdir.trim_end_matches('/').to_string());
        }
        let mut last_error = String::from("no candidate");
        for base in &bases {
            // The base is resolved in the target's root: a symlink there (`/tmp -> /var/tmp`)
            // must lead to the target's directory, never to one of the host's.
            let (base_inside, base_outside) = match target.directory(base) {
                Ok(found) => found,
                Err(error) => {
                    last_error = error.to_string();
                    continue;
                }
            };
            let name = format!("borescope-{label}");
            let inside = format!("{}/{name}", base_inside.trim_end_matches('/'));
            if inside.len() > MAX_DIR_LEN {
                last_error = format!("`{inside}` is too long for CPython's 512-byte script path");
                continue;
            }
            let outside = base_outside.join(&name);
            match create_private(&outside, target) {
                Ok(owner) => return Ok(InjectionDir { inside, outside, owner }),
                Err(error) => {
                    tracing::debug!(dir = %outside.display(), %error, "cannot use this directory");
                    last_error = error.to_string();
                }
            }
        }
        Err(AttachError::NoPlace { pid: target.pid, tried: bases.join(", "), why: last_error })
    }

    /// A new directory of borescope's own outside any target (mode 0700), whose files go to
    /// `owner` when given (for a program borescope runs as that user).
    pub fn staging(dir: &Path, owner: Option<(u32, u32)>) -> std::io::Result<InjectionDir> {
        std::fs::DirBuilder::new().mode(0o700).create(dir)?;
        let staged = InjectionDir { inside: dir.display().to_string(), outside: dir.to_path_buf(), owner };
        staged.give_away(dir);
        Ok(staged)
    }

    /// The directory again, from what an earlier call returned (for detach).
    pub fn from_parts(inside: String, outside: PathBuf) -> InjectionDir {
        InjectionDir { inside, outside, owner: None }
    }

    /// A path inside, in the target's view.
    pub fn inside_path(&self, name: &str) -> String {
        format!("{}/{name}", self.inside)
    }

    /// Writes a file (mode 0644; the directory itself keeps others out).
    pub fn write(&self, name: &str, contents: &[u8]) -> Result<(), AttachError> {
        let path = self.outside.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(AttachError::io(format!("creating `{}`", parent.display())))?;
        }
        std::fs::write(&path, contents).map_err(AttachError::io(format!("writing `{}`", path.display())))?;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
        for created in path.ancestors().take_while(|p| *p != self.outside) {
            self.give_away(created);
        }
        Ok(())
    }

    /// Hands a file to the target's user (so it can also delete it), when we are root.
    fn give_away(&self, path: &Path) {
        if let Some((uid, gid)) = self.owner {
            let _ = nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(uid)), Some(nix::unistd::Gid::from_raw(gid)));
        }
    }

    /// Copies a directory tree (a Python package) under `name`, skipping byte-code caches and
    /// whatever `skip` says.
    pub fn copy_tree(&self, name: &str, from: &Path, skip: &dyn Fn(&Path) -> bool) -> Result<(), AttachError> {
        let copy = TreeCopy { give_away: &|path| self.give_away(path), skip, keep_bytecode: false };
        copy.run(from, &self.outside.join(name))
    }

    /// Copies a directory tree with its byte-code caches (a tree compiled for this target),
    /// hard-linking its files when they are on the same filesystem: they are borescope's,
    /// read-only to the target, which can still remove the links with the directory.
    pub fn copy_compiled_tree(&self, name: &str, from: &Path) -> Result<(), AttachError> {
        let copy = TreeCopy { give_away: &|path| self.give_away(path), skip: &|_| false, keep_bytecode: true };
        copy.run_linking(from, &self.outside.join(name))
    }

    /// Creates an empty marker file.
    pub fn mark(&self, name: &str) {
        let _ = std::fs::write(self.outside.join(name), b"");
    }

    /// True when `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.outside.join(name).exists()
    }

    /// Reads a JSON file, if it is there and complete.
    pub fn read_json(&self, name: &str) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.outside.join(name)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Deletes the directory and everything in it.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.outside);
    }

    /// For a request that stays queued (a pending call cannot be taken back), after the
    /// `cancelled` marker is written: removes the agent and the job first, so that a bootstrap
    /// starting at this very moment finds nothing to run even if it misses the marker while
    /// the caller removes the rest.
    pub fn strip_for_withdrawal(&self) {
        let Ok(entries) = std::fs::read_dir(&self.outside) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name == "run.py" || name == "cancelled" {
                continue;
            }
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

/// Creates the directory; returns the owner files must be given to, if any.
fn create_private(dir: &Path, target: &Target) -> std::io::Result<Option<(u32, u32)>> {
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    let (uid, gid) = target.owner();
    let me = nix::unistd::geteuid().as_raw();
    if me == 0 && uid != 0 {
        if let Err(error) = nix::unistd::chown(dir, Some(nix::unistd::Uid::from_raw(uid)), Some(nix::unistd::Gid::from_raw(gid))) {
            let _ = std::fs::remove_dir(dir);
            return Err(error.into());
        }
        return Ok(Some((uid, gid)));
    }
    Ok(None)
}

struct TreeCopy<'a> {
    give_away: &'a dyn Fn(&Path),
    skip: &'a dyn Fn(&Path) -> bool,
    keep_bytecode: bool,
}

impl TreeCopy<'_> {
    fn run(&self, from: &Path, to: &Path) -> Result<(), AttachError> {
        self.walk(from, to, false)
    }

    fn run_linking(&self, from: &Path, to: &Path) -> Result<(), AttachError> {
        self.walk(from, to, true)
    }

    fn walk(&self, from: &Path, to: &Path, link: bool) -> Result<(), AttachError> {
        std::fs::create_dir_all(to).map_err(AttachError::io(format!("creating `{}`", to.display())))?;
        (self.give_away)(to);
        let entries = std::fs::read_dir(from).map_err(AttachError::io(format!("reading `{}`", from.display())))?;
        for entry in entries.flatten() {
            let (source, dest) = (entry.path(), to.join(entry.file_name()));
            if (entry.file_name() == "__pycache__" && !self.keep_bytecode) || (self.skip)(&source) {
                continue;
            }
            let kind = entry.file_type().map_err(AttachError::io(format!("reading `{}`", source.display())))?;
            if kind.is_dir() {
                self.walk(&source, &dest, link)?;
            } else if kind.is_file() && link && std::fs::hard_link(&source, &dest).is_ok() {
                continue;
            } else if kind.is_file() {
                std::fs::copy(&source, &dest).map_err(AttachError::io(format!("copying `{}`", source.display())))?;
                let _ = std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644));
                (self.give_away)(&dest);
            }
        }
        let _ = std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755));
        Ok(())
    }
}
