//! Paths inside another process's root directory, resolved the way that process would.
//!
//! `/proc/PID/root` reaches a process's files in any mount namespace, but only the magic link
//! itself is resolved in the process's view: a symlink met further down with an absolute target
//! is followed from *our* root, `..` can climb out of a root the host can name, and
//! canonicalising a path under `/proc/PID/root` turns it into a path of the host's filesystem.
//! [`resolve_in_root`] therefore walks the path one component at a time below the root
//! directory, reading symlinks itself: absolute targets restart at the process's root, relative
//! ones continue from the link's directory, `..` stops at the root, and at most
//! [`MAX_SYMLINKS`] links are followed. What it returns is the file's symlink-free path in the
//! process's own names; joined under the root ([`RootedPath::readable`]) it is a path the kernel
//! walks without following any symlink but the magic link.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed before giving up (the kernel's limit, `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// Why a path does not resolve inside a root.
#[derive(Debug, thiserror::Error)]
pub enum RootPathError {
    /// A component does not exist.
    #[error("`{path}` does not exist")]
    NotFound {
        /// The missing path, in the process's names (symlinks before it resolved).
        path: String,
    },
    /// A component other than the last is not a directory.
    #[error("`{path}` is not a directory")]
    NotADirectory {
        /// The path that should be a directory, in the process's names.
        path: String,
    },
    /// More than [`MAX_SYMLINKS`] symlinks (a loop, most likely).
    #[error("too many levels of symbolic links at `{path}`")]
    TooManyLinks {
        /// The link where borescope gave up, in the process's names.
        path: String,
    },
    /// Reading a component failed otherwise (permissions, the process exited).
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path, in the process's names.
        path: String,
        /// The error.
        source: io::Error,
    },
}

/// A file found inside a process's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootedPath {
    /// Its absolute, symlink-free path as the process names it.
    pub inside: String,
    /// The same file as reachable from here (the root directory joined with `inside`).
    pub readable: PathBuf,
}

/// Resolves `path` (absolute in the process's view; a relative path is taken from its `/`)
/// below `root` (usually `/proc/PID/root`), following symlinks as the process would.
pub fn resolve_in_root(root: &Path, path: &str) -> Result<RootedPath, RootPathError> {
    let mut pending: VecDeque<OsString> = components(Path::new(path)).collect();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        resolved.push(name);
        let inside = inside_name(&resolved);
        let here = under(root, &resolved);
        let metadata = std::fs::symlink_metadata(&here).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => RootPathError::NotFound { path: inside.clone() },
            io::ErrorKind::NotADirectory => RootPathError::NotADirectory { path: parent_name(&resolved) },
            _ => RootPathError::Io { path: inside.clone(), source },
        })?;
        if metadata.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(RootPathError::TooManyLinks { path: inside });
            }
            let target = std::fs::read_link(&here).map_err(|source| RootPathError::Io { path: inside.clone(), source })?;
            resolved.pop();
            if target.is_absolute() {
                resolved.clear();
            }
            for component in components(&target).collect::<Vec<_>>().into_iter().rev() {
                pending.push_front(component);
            }
        } else if !metadata.is_dir() && !pending.is_empty() {
            return Err(RootPathError::NotADirectory { path: inside });
        }
    }
    Ok(RootedPath { readable: under(root, &resolved), inside: inside_name(&resolved) })
}

/// The normal and `..` components of a path (`/` and `.` say nothing here).
fn components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

fn under(root: &Path, names: &[OsString]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(names.iter().map(|n| n.as_os_str()));
    path
}

fn inside_name(names: &[OsString]) -> String {
    let mut path = PathBuf::from("/");
    path.extend(names.iter().map(|n| n.as_os_str()));
    path.display().to_string()
}

fn parent_name(names: &[OsString]) -> String {
    inside_name(names.split_last().map(|(_, parent)| parent).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A root with `/srv/app/v2/main.py`, `/srv/app/current -> /srv/app/v2` (absolute) and
    /// `/srv/app/v2/lib -> ../shared` (relative), and `/srv/app/shared/util.py`.
    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("srv/app");
        std::fs::create_dir_all(app.join("v2")).unwrap();
        std::fs::create_dir_all(app.join("shared")).unwrap();
        std::fs::write(app.join("v2/main.py"), "x = 1\n").unwrap();
        std::fs::write(app.join("shared/util.py"), "y = 2\n").unwrap();
        symlink("/srv/app/v2", app.join("current")).unwrap();
        symlink("../shared", app.join("v2/lib")).unwrap();
        dir
    }

    fn inside(root: &Path, path: &str) -> String {
        let found = resolve_in_root(root, path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(found.readable.starts_with(root));
        assert!(found.readable.exists(), "{}", found.readable.display());
        found.inside
    }

    #[test]
    fn absolute_links_restart_at_the_root_and_relative_ones_at_their_directory() {
        let dir = root();
        let root = dir.path();
        assert_eq!(inside(root, "/srv/app/current/main.py"), "/srv/app/v2/main.py");
        assert_eq!(inside(root, "/srv/app/current/lib/util.py"), "/srv/app/shared/util.py");
        // `..` after a link climbs from where the link points, as the kernel does.
        assert_eq!(inside(root, "/srv/app/current/../shared/util.py"), "/srv/app/shared/util.py");
        assert_eq!(inside(root, "srv/./app//v2/main.py"), "/srv/app/v2/main.py");
        assert_eq!(inside(root, "/"), "/");
    }

    #[test]
    fn dot_dot_never_leaves_the_root() {
        let dir = root();
        let root = dir.path();
        assert_eq!(inside(root, "/../../../srv/app/v2/main.py"), "/srv/app/v2/main.py");
        symlink("../../../../..", root.join("srv/app/up")).unwrap();
        assert_eq!(inside(root, "/srv/app/up/srv/app/v2/main.py"), "/srv/app/v2/main.py");
        symlink("/../..", root.join("srv/app/up-absolute")).unwrap();
        assert_eq!(inside(root, "/srv/app/up-absolute/srv/app/shared/util.py"), "/srv/app/shared/util.py");
    }

    #[test]
    fn missing_files_loops_and_files_used_as_directories() {
        let dir = root();
        let root = dir.path();
        let missing = resolve_in_root(root, "/srv/app/current/nope.py").unwrap_err();
        assert!(matches!(&missing, RootPathError::NotFound { path } if path == "/srv/app/v2/nope.py"), "{missing}");
        // An absolute link that exists on the host but not in the root is not followed there.
        symlink("/proc/self", root.join("srv/host-only")).unwrap();
        assert!(matches!(resolve_in_root(root, "/srv/host-only/status"), Err(RootPathError::NotFound { .. })));
        symlink("loop-b", root.join("srv/loop-a")).unwrap();
        symlink("loop-a", root.join("srv/loop-b")).unwrap();
        let looped = resolve_in_root(root, "/srv/loop-a/x.py").unwrap_err();
        assert!(matches!(looped, RootPathError::TooManyLinks { .. }), "{looped}");
        let file_as_dir = resolve_in_root(root, "/srv/app/v2/main.py/more").unwrap_err();
        assert!(matches!(&file_as_dir, RootPathError::NotADirectory { path } if path == "/srv/app/v2/main.py"), "{file_as_dir}");
    }
}
