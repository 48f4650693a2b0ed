//! `borescope completions`: each script is loaded by the real shell it is for and asked to
//! complete, so a script that parses but completes nothing fails too.

use super::ctx;
use borescope_test::TestContext;
use insta::assert_snapshot;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A shell installed by `scripts/test-setup.sh`; a missing one fails the test with the fix.
fn shell(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    if !path.exists() {
        panic!("{name} is missing at {}; run `scripts/test-setup.sh` first", path.display());
    }
    path
}

/// Writes `borescope completions SHELL` to a file and returns its path.
fn script(ctx: &TestContext, shell: &str) -> PathBuf {
    let run = ctx.run(["completions", shell]);
    run.expect_code(0);
    assert!(run.stderr.is_empty(), "completions {shell} wrote to stderr:\n{}", run.stderr);
    ctx.write(&format!("completions.{shell}"), &run.stdout)
}

#[track_caller]
fn success(output: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", output.status);
    stdout
}

/// Completes the last word of `words` with the bash script's completion function, as bash
/// does on TAB: COMP_WORDS/COMP_CWORD set, the function named by `complete -p borescope`.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    const DRIVER: &str = r#"
source "$1"; shift
spec=$(complete -p borescope) || exit 3
[[ $spec =~ -F\ ([^ ]+) ]] || { echo "no -F function in: $spec" >&2; exit 4; }
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"${BASH_REMATCH[1]}" borescope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let output = Command::new(shell("bash"))
        .args(["--norc", "--noprofile", "-c", DRIVER, "driver"])
        .arg(script)
        .args(words)
        .output()
        .expect("run bash");
    let stdout = success(output, &format!("bash completing {words:?}"));
    stdout.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

#[test]
fn completions_help() {
    let run = ctx().run(["completions", "--help"]);
    run.expect_code(0);
    assert_snapshot!(run.snapshot());
}

#[test]
fn bash_script_parses_and_completes_in_a_real_bash() {
    let ctx = ctx();
    let script = script(&ctx, "bash");
    success(
        Command::new(shell("bash")).arg("-n").arg(&script).output().expect("bash -n"),
        "bash -n",
    );

    let commands = bash_complete(&script, &["borescope", ""]);
    for expected in ["probe", "start", "attach", "vars", "mcp", "completions"] {
        assert!(commands.iter().any(|c| c == expected), "`borescope <TAB>` lacks {expected}: {commands:?}");
    }
    assert!(!commands.iter().any(|c| c == "daemon"), "the hidden daemon command is offered: {commands:?}");

    assert_eq!(bash_complete(&script, &["borescope", "pro"]), ["probe"]);
    assert_eq!(bash_complete(&script, &["borescope", "probe", "--ti"]), ["--timeout"]);
    // clap offers the flags there too; the values are the shells.
    let mut shells = bash_complete(&script, &["borescope", "completions", ""]);
    shells.retain(|word| !word.starts_with('-'));
    shells.sort();
    assert_eq!(shells, ["bash", "fish", "zsh"]);
}

#[test]
fn zsh_script_parses_and_defines_its_completion_function() {
    let ctx = ctx();
    let script = script(&ctx, "zsh");
    success(Command::new(shell("zsh")).arg("-n").arg(&script).output().expect("zsh -n"), "zsh -n");
    // Loaded the way compinit loads a file from $fpath: the function must exist and be bound.
    let check = r#"autoload -U compinit && compinit -u -D && source "$1" \
        && (( $+functions[_borescope] )) && [[ ${_comps[borescope]} == _borescope ]]"#;
    success(
        Command::new(shell("zsh"))
            .args(["-f", "-c", check, "driver"])
            .arg(&script)
            .env("HOME", ctx.work())
            .output()
            .expect("zsh"),
        "loading the zsh completion",
    );
    let text = std::fs::read_to_string(&script).expect("read script");
    assert!(text.contains("'probe:Run a program until a line runs"), "zsh script lacks probe");
    assert!(!text.contains("(daemon)"), "the hidden daemon command is offered");
}

#[test]
fn fish_script_parses_and_completes_in_a_real_fish() {
    let ctx = ctx();
    let script = script(&ctx, "fish");
    success(
        Command::new(shell("fish")).arg("--no-execute").arg(&script).output().expect("fish -n"),
        "fish --no-execute",
    );
    let complete = |line: &str| -> Vec<String> {
        let output = Command::new(shell("fish"))
            .args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
            .arg(&script)
            .arg(line)
            .env("HOME", ctx.work())
            .output()
            .expect("fish");
        let stdout = success(output, &format!("fish completing {line:?}"));
        // Each candidate is `word<TAB>description`.
        stdout.lines().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(complete("borescope pro"), ["probe"]);
    let commands = complete("borescope ");
    assert!(commands.iter().any(|c| c == "completions"), "{commands:?}");
    assert!(!commands.iter().any(|c| c == "daemon"), "the hidden daemon command is offered: {commands:?}");
    assert_eq!(complete("borescope probe --tim"), ["--timeout"]);
}

#[test]
fn json_carries_the_same_script() {
    let ctx = ctx();
    let text = ctx.run(["completions", "bash"]);
    let json = ctx.run(["completions", "bash", "--json"]);
    json.expect_code(0);
    let value = json.json();
    assert_eq!(value["schema"], "borescope.completions/1");
    assert_eq!(value["shell"], "bash");
    assert_eq!(value["script"].as_str(), Some(text.stdout.as_str()));
    assert_eq!(value.as_object().map(|o| o.len()), Some(3), "{value}");
}

#[test]
fn needs_no_daemon_and_refuses_other_shells() {
    let ctx = ctx();
    ctx.run(["completions", "zsh"]).expect_code(0);
    assert!(!ctx.runtime.exists(), "completions created the daemon's runtime directory");
    ctx.run(["completions"]).expect_code(2).stderr_has("<SHELL>");
    ctx.run(["completions", "powershell"]).expect_code(2).stderr_has("[possible values: bash, zsh, fish]");
}
