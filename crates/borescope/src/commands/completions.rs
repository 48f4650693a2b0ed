//! `borescope completions SHELL`: the shell completion script, generated from the same clap
//! definitions as `--help`, so it always matches this build's commands and flags. Hidden
//! commands (`daemon`) are left out, as `--help` leaves them out. Needs no daemon and touches
//! nothing on disk.

use crate::failure::Failure;
use crate::printer;
use borescope_cli::{Cli, CompletionShell, CompletionsArgs};
use clap::CommandFactory;
use clap_complete::Shell;
use serde::Serialize;
use std::process::ExitCode;

/// `--json` (`borescope.completions/1`): the script as a string, with the shell it is for.
#[derive(Serialize)]
struct CompletionScript {
    schema: &'static str,
    shell: &'static str,
    script: String,
}

/// The command name the scripts complete.
const BIN_NAME: &str = "borescope";

pub fn run(cli: &Cli, args: &CompletionsArgs) -> Result<ExitCode, Failure> {
    let (shell, name) = match args.shell {
        CompletionShell::Bash => (Shell::Bash, "bash"),
        CompletionShell::Zsh => (Shell::Zsh, "zsh"),
        CompletionShell::Fish => (Shell::Fish, "fish"),
    };
    let mut bytes = Vec::new();
    clap_complete::generate(shell, &mut visible_command(), BIN_NAME, &mut bytes);
    let script = String::from_utf8(bytes)
        .map_err(|e| Failure::failed(format!("the {name} completion script is not UTF-8: {e}")))?;
    if cli.json {
        printer::json(&CompletionScript {
            schema: "borescope.completions/1",
            shell: name,
            script,
        });
    } else {
        printer::text(&script);
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line without its hidden subcommands. clap_complete offers every subcommand,
/// hidden or not, and clap cannot remove one, so the root is put together again from the
/// same arguments and the visible subcommands (nothing is restated, so it cannot drift).
fn visible_command() -> clap::Command {
    let full = Cli::command();
    let visible: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|subcommand| !subcommand.is_hide_set())
        .cloned()
        .collect();
    clap::Command::new(BIN_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(visible)
}
