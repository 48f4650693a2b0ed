//! Checks that a command can start before anything is started: the program exists (on the
//! program's own `PATH`, or at the path given) and may be executed, and the script an
//! interpreter is asked to run is there. A command that cannot start is bad input, named
//! precisely, never a "running" session that dies a moment later.

use crate::command::{resolve_command, ProgramCommand};
use crate::DebuggerError;
use borescope_model::Language;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Resolves the command ([`resolve_command`]) and checks that what it resolved to can start.
/// A command whose language cannot be told is first checked for existence, so a misspelt
/// program is reported as not found rather than as of unknown language.
pub fn resolve_startable(
    command: &[String],
    default_file: Option<&Path>,
    python: Option<&Path>,
    language: Option<Language>,
    cwd: &Path,
    path_var: Option<&OsStr>,
) -> Result<ProgramCommand, DebuggerError> {
    match resolve_command(command, default_file, python, language, cwd) {
        Ok(program) => {
            check_program(&program.argv, cwd, path_var)?;
            check_script(&program.argv, program.language, cwd)?;
            Ok(program)
        }
        Err(error) => {
            check_program(command, cwd, path_var)?;
            Err(error)
        }
    }
}

/// The `PATH` a program gets from its environment (the caller's, then `--env` overrides).
pub fn path_of(base: Option<&[(String, String)]>, overrides: &[(String, String)]) -> Option<std::ffi::OsString> {
    overrides
        .iter()
        .rev()
        .chain(base.unwrap_or_default().iter().rev())
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.into())
}

/// Checks that `command[0]` names a program that exists and is executable. `path_var` is the
/// `PATH` the program will be started with (`None`: ours).
pub fn check_program(command: &[String], cwd: &Path, path_var: Option<&OsStr>) -> Result<(), DebuggerError> {
    let Some(first) = command.first() else {
        return Ok(());
    };
    let found = if first.contains('/') {
        let path = cwd.join(first);
        if !path.exists() {
            return Err(DebuggerError::BadCommand(format!(
                "command not found: `{first}` (looked for {})",
                path.display()
            )));
        }
        path
    } else {
        let own = std::env::var_os("PATH");
        let search = path_var.or(own.as_deref()).unwrap_or_default();
        match std::env::split_paths(search).map(|dir| cwd.join(dir).join(first)).find(|c| c.is_file()) {
            Some(path) => path,
            None => {
                return Err(DebuggerError::BadCommand(format!(
                    "command not found: `{first}` is not on the program's PATH; check the spelling, or give its full path"
                )));
            }
        }
    };
    if found.is_dir() {
        return Err(DebuggerError::BadCommand(format!("`{first}` is a directory, not a program")));
    }
    let executable = std::fs::metadata(&found).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    if !executable {
        return Err(DebuggerError::BadCommand(format!(
            "`{first}` is not executable; run it with its interpreter (e.g. `-- python3 {first}`) or `chmod +x` it"
        )));
    }
    Ok(())
}

/// Checks that the script an interpreter command runs exists (`python3 app.py`,
/// `node server.js`); commands that run code another way (`-m`, `-c`, `-e`) pass.
pub fn check_script(argv: &[String], language: Language, cwd: &Path) -> Result<(), DebuggerError> {
    let Some(script) = script_argument(argv, language) else {
        return Ok(());
    };
    let path = cwd.join(script);
    let exists = match language {
        Language::Python => path.exists(),
        Language::Node => node_candidates(&path).iter().any(|p| p.is_file()),
    };
    if exists {
        return Ok(());
    }
    Err(DebuggerError::BadCommand(format!(
        "script not found: `{script}` (looked for {}); check the path, relative to the program's working directory",
        path.display()
    )))
}

/// The script argument of an interpreter command, if it runs one.
fn script_argument(argv: &[String], language: Language) -> Option<&str> {
    let (head, rest) = argv.split_first()?;
    let name = Path::new(head).file_name()?.to_string_lossy().into_owned();
    let mut words = rest.iter();
    match language {
        Language::Python if name.starts_with("python") || name.starts_with("pypy") => {
            while let Some(word) = words.next() {
                match word.as_str() {
                    "-" | "--version" | "-V" | "--help" | "-h" => return None,
                    "-X" | "-W" | "--check-hash-based-pycs" => {
                        words.next();
                    }
                    w if w.starts_with("--") => {}
                    w if w.starts_with('-') => {
                        // Single-letter flags may be combined (`-Bu`); `c` or `m` ends them.
                        let letters = &w[1..];
                        for (i, c) in letters.char_indices() {
                            if c == 'c' || c == 'm' {
                                return None;
                            }
                            if c == 'X' || c == 'W' {
                                if i + 1 == letters.len() {
                                    words.next();
                                }
                                break;
                            }
                        }
                    }
                    w => return Some(w),
                }
            }
            None
        }
        Language::Node if name == "node" || name == "nodejs" => {
            while let Some(word) = words.next() {
                match word.as_str() {
                    "-" | "-e" | "--eval" | "-p" | "--print" | "--test" | "-v" | "--version" | "-h" | "--help" => return None,
                    "-r" | "--require" | "--import" | "--loader" | "--experimental-loader" | "-C" | "--conditions" | "--title"
                    | "--env-file" | "--inspect-port" => {
                        words.next();
                    }
                    w if w.starts_with('-') => {}
                    // Node has many options that take a value in the next word; only a word
                    // that is clearly a script is checked, so an unknown option's value (e.g.
                    // `--unhandled-rejections strict`) is never mistaken for one.
                    w if w.contains('/') || [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"].iter().any(|ext| w.ends_with(ext)) => {
                        return Some(w);
                    }
                    _ => return None,
                }
            }
            None
        }
        _ => None,
    }
}

/// What Node tries for `node PATH`.
fn node_candidates(path: &Path) -> Vec<PathBuf> {
    let mut candidates = vec![path.to_path_buf()];
    for ext in ["js", "cjs", "mjs", "json", "node"] {
        let mut name = path.as_os_str().to_owned();
        name.push(".");
        name.push(ext);
        candidates.push(PathBuf::from(name));
    }
    candidates.push(path.join("index.js"));
    candidates.push(path.join("package.json"));
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn python_script_argument() {
        let script = |w: &[&str]| script_argument(&words(w), Language::Python).map(str::to_string);
        assert_eq!(script(&["python3", "app.py", "-x"]), Some("app.py".into()));
        assert_eq!(script(&["python3", "-u", "-X", "dev", "app.py"]), Some("app.py".into()));
        assert_eq!(script(&["python3", "-Xdev", "-Bu", "app.py"]), Some("app.py".into()));
        assert_eq!(script(&["python3", "-m", "pytest", "x.py"]), None);
        assert_eq!(script(&["python3", "-Bm", "pkg"]), None);
        assert_eq!(script(&["python3", "-c", "print(1)"]), None);
        assert_eq!(script(&["uv", "run", "app.py"]), None);
    }

    #[test]
    fn node_script_argument() {
        let script = |w: &[&str]| script_argument(&words(w), Language::Node).map(str::to_string);
        assert_eq!(script(&["node", "--require", "x", "app.js"]), Some("app.js".into()));
        assert_eq!(script(&["node", "--enable-source-maps", "./app"]), Some("./app".into()));
        assert_eq!(script(&["node", "--unhandled-rejections", "strict", "app.js"]), None, "unknown value-taking option");
        assert_eq!(script(&["node", "-e", "1"]), None);
    }

    #[test]
    fn missing_things_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_program(&words(&["nosuchcmd-xyz"]), dir.path(), Some(OsStr::new("/nonexistent"))).unwrap_err();
        assert!(err.to_string().contains("command not found: `nosuchcmd-xyz`"), "{err}");
        let err = check_script(&words(&["python3", "missing.py"]), Language::Python, dir.path()).unwrap_err();
        assert!(err.to_string().starts_with("script not found: `missing.py`"), "{err}");
        std::fs::write(dir.path().join("app.js"), "").unwrap();
        assert!(check_script(&words(&["node", "./app"]), Language::Node, dir.path()).is_ok());
        std::fs::write(dir.path().join("tool"), "").unwrap();
        let err = check_program(&words(&["./tool"]), dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("not executable"), "{err}");
    }
}
