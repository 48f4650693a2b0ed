//! Turning what the user typed after `--` into a program to run, and telling its language.
//!
//! The command runs exactly as typed (so interpreter flags, `-m`, console scripts and wrapper
//! scripts all work); borescope only decides the language, fills in a default command when none
//! was given, and applies `--python`.

use crate::DebuggerError;
use borescope_model::Language;
use std::path::{Path, PathBuf};

/// A program to run, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramCommand {
    /// The argv to execute.
    pub argv: Vec<String>,
    /// The language borescope will debug it as.
    pub language: Language,
}

/// Resolves the command. `default_file` is the first location's file, used when `command` is
/// empty; `python` replaces the interpreter; `language` forces the language.
pub fn resolve_command(
    command: &[String],
    default_file: Option<&Path>,
    python: Option<&Path>,
    language: Option<Language>,
    cwd: &Path,
) -> Result<ProgramCommand, DebuggerError> {
    let Some(first) = command.first() else {
        let file = default_file.ok_or_else(|| {
            DebuggerError::BadCommand(
                "no command given and no location to run; pass one after `--`, e.g. `-- python3 app.py`".into(),
            )
        })?;
        let language = match language {
            Some(language) => language,
            None => language_of_file(file).ok_or_else(|| {
                DebuggerError::BadCommand(format!(
                    "cannot tell how to run `{}`; give the command after `--` or use --lang",
                    file.display()
                ))
            })?,
        };
        let interpreter = match (language, python) {
            (Language::Python, Some(python)) => python.display().to_string(),
            (Language::Python, None) => "python3".to_string(),
            (Language::Node, _) => "node".to_string(),
        };
        if python.is_some() && language == Language::Node {
            return Err(DebuggerError::BadCommand("--python applies only to Python programs".into()));
        }
        return Ok(ProgramCommand {
            argv: vec![interpreter, file.display().to_string()],
            language,
        });
    };
    let word = basename(first);
    let shebang = shebang_of(first, cwd);
    let detected = if is_python_name(&word) {
        Some(Language::Python)
    } else if is_node_name(&word) {
        Some(Language::Node)
    } else if let Some(lang) = language_of_file(Path::new(first)) {
        Some(lang)
    } else {
        match shebang.as_deref() {
            Some(line) if line.contains("python") => Some(Language::Python),
            Some(line) if line.contains("node") => Some(Language::Node),
            // A wrapper (`uv run python app.py`, `env X=1 node app.js`, a container launcher):
            // look for the interpreter or script further along.
            _ => command[1..]
                .iter()
                .find_map(|word| {
                    let name = basename(word);
                    if is_python_name(&name) {
                        Some(Language::Python)
                    } else if is_node_name(&name) {
                        Some(Language::Node)
                    } else {
                        language_of_file(Path::new(word))
                    }
                })
                .or_else(|| default_file.and_then(language_of_file)),
        }
    };
    let language = match (language, detected) {
        (Some(forced), _) => forced,
        (None, Some(found)) => found,
        (None, None) => {
            return Err(DebuggerError::BadCommand(format!(
                "cannot tell whether `{first}` runs Python or Node; add --lang python or --lang node"
            )));
        }
    };
    let mut argv = command.to_vec();
    // A bare script path: run it with the language's interpreter unless it runs itself.
    if !is_python_name(&word) && !is_node_name(&word) && shebang.is_none() {
        match language_of_file(Path::new(first)) {
            Some(Language::Python) => argv.insert(0, "python3".into()),
            Some(Language::Node) => argv.insert(0, "node".into()),
            None => {}
        }
    }
    if let Some(python) = python {
        if language != Language::Python {
            return Err(DebuggerError::BadCommand("--python applies only to Python programs".into()));
        }
        let head = basename(&argv[0]);
        if is_python_name(&head) {
            argv[0] = python.display().to_string();
        } else if shebang.as_deref().is_some_and(|l| l.contains("python")) {
            let script = find_program(first, cwd).unwrap_or_else(|| PathBuf::from(first));
            argv[0] = script.display().to_string();
            argv.insert(0, python.display().to_string());
        } else {
            return Err(DebuggerError::BadCommand(format!(
                "--python replaces the interpreter, but `{first}` is not a Python interpreter or script"
            )));
        }
    }
    Ok(ProgramCommand { argv, language })
}

/// Language implied by a file extension.
pub fn language_of_file(file: &Path) -> Option<Language> {
    match file.extension()?.to_str()? {
        "py" | "pyw" => Some(Language::Python),
        "js" | "mjs" | "cjs" => Some(Language::Node),
        _ => None,
    }
}

fn basename(word: &str) -> String {
    Path::new(word)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| word.to_string())
}

fn is_python_name(name: &str) -> bool {
    let rest = name
        .strip_prefix("python")
        .or_else(|| name.strip_prefix("pypy"));
    match rest {
        Some(rest) => rest.chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'd' || c == 't'),
        None => false,
    }
}

fn is_node_name(name: &str) -> bool {
    matches!(name, "node" | "nodejs")
}

/// Finds `word` the way the shell would: as a path if it has a slash, else on `PATH`.
pub fn find_program(word: &str, cwd: &Path) -> Option<PathBuf> {
    if word.contains('/') {
        let path = cwd.join(word);
        return path.is_file().then_some(path);
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(word))
        .find(|candidate| candidate.is_file())
}

/// The `#!` line of a program, if it is a script.
fn shebang_of(word: &str, cwd: &Path) -> Option<String> {
    let path = find_program(word, cwd)?;
    let mut head = [0u8; 256];
    let n = std::io::Read::read(&mut std::fs::File::open(path).ok()?, &mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    let line = text.lines().next()?;
    line.starts_with("#!").then(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(cmd: &[&str], python: Option<&str>) -> Result<ProgramCommand, DebuggerError> {
        let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        resolve_command(
            &cmd,
            Some(Path::new("/x/app.py")),
            python.map(Path::new),
            None,
            Path::new("/"),
        )
    }

    #[test]
    fn default_command_runs_the_file() {
        let got = resolve(&[], None).unwrap();
        assert_eq!(got.argv, ["python3", "/x/app.py"]);
        let got = resolve(&[], Some("/venv/bin/python")).unwrap();
        assert_eq!(got.argv, ["/venv/bin/python", "/x/app.py"]);
    }

    #[test]
    fn python_flag_replaces_the_interpreter() {
        let got = resolve(&["python3.11", "-m", "pytest"], Some("/v/python")).unwrap();
        assert_eq!(got.argv, ["/v/python", "-m", "pytest"]);
        assert_eq!(got.language, Language::Python);
    }

    #[test]
    fn languages_are_detected() {
        assert_eq!(resolve(&["node", "a.js"], None).unwrap().language, Language::Node);
        assert_eq!(resolve(&["app.py"], None).unwrap().argv, ["python3", "app.py"]);
        assert_eq!(resolve(&["server.mjs"], None).unwrap().argv, ["node", "server.mjs"]);
        assert!(resolve(&["node", "a.js"], Some("/p")).is_err());
        assert_eq!(resolve(&["uv", "run", "node", "a.js"], None).unwrap().language, Language::Node);
        assert_eq!(resolve(&["wrapper", "python3.14", "a"], None).unwrap().language, Language::Python);
    }

    #[test]
    fn interpreter_names() {
        for ok in ["python", "python3", "python3.14", "python3.14t", "pypy3"] {
            assert!(is_python_name(ok), "{ok}");
        }
        for no in ["pythonista", "py", "python-config"] {
            assert!(!is_python_name(no), "{no}");
        }
    }
}
