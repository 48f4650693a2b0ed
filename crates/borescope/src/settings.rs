//! Turning parsed arguments into the values the libraries take.

use crate::failure::Failure;
use borescope_attach::ThreadChoice;
use borescope_cli::{BudgetArgs, ExceptionsArg, LangArg};
use borescope_model::{Budget, ExceptionMode, Language};
use borescope_render::{PathStyle, RenderContext};
use std::time::Duration;

/// The budget the flags describe.
pub fn budget(args: &BudgetArgs) -> Budget {
    Budget {
        max_value: args.max_value.max(1),
        max_vars: args.max_vars,
        depth: args.depth,
        max_bytes: args.max_output.max(256),
        redact: !args.no_redact,
    }
}

/// Render context: the budget, paths relative to the current directory.
pub fn render(args: &BudgetArgs) -> RenderContext {
    let base = std::env::current_dir().ok();
    RenderContext::new(
        budget(args),
        base.map(PathStyle::relative_to).unwrap_or_default(),
    )
}

/// `--env KEY=VALUE` pairs.
pub fn env_pairs(pairs: &[String]) -> Result<Vec<(String, String)>, Failure> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => Err(Failure::input(format!(
                "--env `{pair}` is not KEY=VALUE (example: --env DEBUG=1)"
            ))),
        })
        .collect()
}

/// A timeout in seconds.
pub fn seconds(value: f64, flag: &str) -> Result<Duration, Failure> {
    if !value.is_finite() || value <= 0.0 || value > 86_400.0 {
        return Err(Failure::input(format!(
            "{flag} {value} is not a number of seconds between 0 and 86400"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The language flag.
pub fn language(lang: Option<LangArg>) -> Option<Language> {
    lang.map(|l| match l {
        LangArg::Python => Language::Python,
        LangArg::Node => Language::Node,
    })
}

/// `--exceptions`.
pub fn exceptions(arg: ExceptionsArg) -> ExceptionMode {
    match arg {
        ExceptionsArg::Uncaught => ExceptionMode::Uncaught,
        ExceptionsArg::Raised => ExceptionMode::Raised,
        ExceptionsArg::None => ExceptionMode::None,
    }
}

/// `--thread TID`: that thread, else the main thread.
pub fn thread(tid: Option<u64>) -> ThreadChoice {
    tid.map(ThreadChoice::Native).unwrap_or(ThreadChoice::Main)
}
