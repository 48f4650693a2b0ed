//! Arguments of `borescope completions`: which shell to write a completion script for.

use clap::{Args, ValueEnum};

/// Shells borescope writes completion scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Save as ~/.local/share/bash-completion/completions/borescope.
    Bash,
    /// Save as `_borescope` in a directory on $fpath (listed before `compinit` runs).
    Zsh,
    /// Save as ~/.config/fish/completions/borescope.fish.
    Fish,
}

const COMPLETIONS_AFTER_HELP: &str = "\
Examples (open a new shell afterwards):
  borescope completions bash > ~/.local/share/bash-completion/completions/borescope
  borescope completions zsh > ~/.zfunc/_borescope   # with fpath=(~/.zfunc $fpath) in ~/.zshrc
  borescope completions fish > ~/.config/fish/completions/borescope.fish
  source <(borescope completions bash)              # this shell only";

/// `borescope completions`.
#[derive(Debug, Args)]
#[command(after_help = COMPLETIONS_AFTER_HELP)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}
