//! debugpy's byte-code for one interpreter, compiled once on this machine and shipped with the
//! copy of debugpy borescope brings into a process that has none.
//!
//! Without it the target compiles some 200 modules from source on every attach (a third of a
//! second on a quiet machine, much more on a busy one), and the byte-code is lost with the
//! copy at detach. So after an attach that shipped debugpy, borescope compiles the copy with
//! the target's own interpreter binary — in a separate, isolated process (`-I -S`, empty
//! environment) running as the target's user, never inside the target — into
//! `debugpy/<version>-bytecode/<key>/`, with hash-based, unchecked `.pyc` files (valid whatever
//! the files' times). The key names the interpreter file (path, device, inode, size, time) and
//! the user, so nothing one user's process compiled is ever loaded into another user's. The
//! finished tree belongs to borescope's user and is read-only to others.
//!
//! Only processes that share borescope's filesystem get this: the interpreter of a container
//! is not run on the host.

use crate::files::InjectionDir;
use crate::target::Target;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the compiler may take before it is killed and nothing is cached.
const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Marks a finished tree.
const STAMP: &str = ".borescope-compiled";

/// The statement the interpreter runs: compile the tree at argv[1], unchecked-hash byte-code.
const COMPILE: &str = "import compileall, py_compile, sys\n\
ok = compileall.compile_dir(sys.argv[1], quiet=2, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)\n\
sys.exit(0 if ok else 1)\n";

/// Where the compiled copy of `source` (a directory holding `debugpy/`) for `target`'s
/// interpreter lives, when `target` qualifies.
fn location(source: &Path, target: &Target) -> Option<PathBuf> {
    if !target.same_filesystem {
        return None;
    }
    let exe = std::fs::read_link(format!("/proc/{}/exe", target.pid)).ok()?;
    // A Python started through its dynamic loader (`ld.so python3 ...`) is not run that way.
    if !exe.file_name()?.to_string_lossy().contains("python") {
        return None;
    }
    let meta = std::fs::metadata(&exe).ok()?;
    let (uid, _) = target.owner();
    let identity = format!("{}|{}|{}|{}|{}|{}", exe.display(), meta.dev(), meta.ino(), meta.size(), meta.mtime(), uid);
    let name = source.file_name()?.to_string_lossy().into_owned();
    Some(source.with_file_name(format!("{name}-bytecode")).join(format!("{:016x}", fnv1a(identity.as_bytes()))))
}

/// The compiled copy (holding `debugpy/` with `__pycache__`) for `target`, if cached.
pub fn cached(source: &Path, target: &Target) -> Option<PathBuf> {
    location(source, target).filter(|dir| dir.join(STAMP).is_file())
}

/// Compiles `source` for `target`'s interpreter in a thread of its own, for the next attach.
/// Failures only cost the speed-up (they are logged at debug level).
pub fn compile_in_background(source: PathBuf, target: &Target, skip: fn(&Path) -> bool) {
    let Some(dest) = location(&source, target) else { return };
    if dest.join(STAMP).is_file() {
        return;
    }
    let Ok(exe) = std::fs::read_link(format!("/proc/{}/exe", target.pid)) else { return };
    let owner = target.owner();
    let spawned = std::thread::Builder::new().name("borescope-bytecode".into()).spawn(move || {
        if let Err(why) = compile(&source, &dest, &exe, owner, skip) {
            tracing::debug!(dest = %dest.display(), why, "debugpy byte-code not cached");
        }
    });
    if let Err(error) = spawned {
        tracing::debug!(%error, "cannot start the byte-code compiler thread");
    }
}

fn compile(source: &Path, dest: &Path, exe: &Path, (uid, gid): (u32, u32), skip: fn(&Path) -> bool) -> Result<(), String> {
    let parent = dest.parent().ok_or("no parent directory")?;
    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    // Staged where the target's user can write (borescope's own cache may be in a home it cannot
    // enter), then taken back and moved into the cache.
    let staging = std::env::temp_dir().join(format!("borescope-bytecode-{}", crate::job::unique_label()));
    let result = (|| {
        let drop_to = (nix::unistd::geteuid().is_root() && uid != 0).then_some((uid, gid));
        let stage = InjectionDir::staging(&staging, drop_to).map_err(|e| e.to_string())?;
        stage.copy_tree("debugpy", &source.join("debugpy"), &skip).map_err(|e| e.to_string())?;
        let mut command = Command::new(exe);
        command
            .args(["-I", "-S", "-c", COMPILE])
            .arg(staging.join("debugpy"))
            .env_clear()
            .current_dir(&staging)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = drop_to {
            command.uid(uid).gid(gid);
        }
        let mut child = command.spawn().map_err(|e| format!("cannot run `{}`: {e}", exe.display()))?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(status) => break status,
                None if started.elapsed() > COMPILE_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("the compiler ran too long".into());
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        if !status.success() {
            return Err(format!("the compiler failed ({status})"));
        }
        // Ours again and read-only to everyone else, before anything is loaded from it.
        reclaim(&staging).map_err(|e| e.to_string())?;
        std::fs::write(staging.join(STAMP), b"").map_err(|e| e.to_string())?;
        move_tree(&staging, dest, parent)
    })();
    if result.is_err() || staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Moves a finished tree into place: a rename, or a copy then a rename across filesystems.
fn move_tree(from: &Path, to: &Path, parent: &Path) -> Result<(), String> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    let near = parent.join(format!(".incoming-{}", crate::job::unique_label()));
    let copied = InjectionDir::staging(&near, None)
        .map_err(|e| e.to_string())
        .and_then(|dir| dir.copy_compiled_tree("debugpy", &from.join("debugpy")).map_err(|e| e.to_string()))
        .and_then(|()| std::fs::write(near.join(STAMP), b"").map_err(|e| e.to_string()))
        .and_then(|()| std::fs::rename(&near, to).map_err(|e| e.to_string()));
    if copied.is_err() {
        let _ = std::fs::remove_dir_all(&near);
    }
    copied
}

/// Gives a tree back to borescope's user, writable by it alone.
fn reclaim(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let me = (nix::unistd::geteuid(), nix::unistd::getegid());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            std::fs::remove_file(&path)?;
            continue;
        }
        nix::unistd::chown(&path, Some(me.0), Some(me.1))?;
        let mode = if meta.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(())
}

/// FNV-1a, 64 bits: a stable name for a cache key.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
