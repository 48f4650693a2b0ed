//! Arguments of the interactive session commands.

use crate::LaunchArgs;
use borescope_static::EnvVars;
use clap::{Args, ValueEnum};

/// Which session a command talks to.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Session")]
pub struct SessionArg {
    /// Session name (several programs can be debugged at once).
    #[arg(long, short = 's', env = EnvVars::BORESCOPE_SESSION, default_value = borescope_static::DEFAULT_SESSION)]
    pub session: String,
}

/// Conditions that `break` and `start --break` share.
#[derive(Debug, Clone, Args)]
pub struct ConditionArgs {
    /// Only stop when this expression is true (checked when set: a condition that does not
    /// compile is refused).
    #[arg(long = "if", value_name = "EXPR")]
    pub condition: Option<String>,
    /// Only stop on the Nth hit.
    #[arg(long, value_name = "N")]
    pub hit: Option<u32>,
    /// Log this message instead of stopping (`{expr}` is interpolated); never pauses.
    #[arg(long, value_name = "MESSAGE")]
    pub log: Option<String>,
}

/// Which exceptions stop the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExceptionsArg {
    /// Exceptions nothing catches.
    Uncaught,
    /// Every raised exception.
    Raised,
    /// None.
    None,
}

/// `borescope start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The program to run, after `--`, e.g. `-- python3 app.py --port 8000`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Breakpoint to set before the first line runs (repeatable). With any --break or
    /// --stop-on-entry, `start` waits for the first stop and prints it.
    #[arg(long = "break", value_name = "FILE:LINE")]
    pub breakpoints: Vec<String>,
    /// Condition, hit count or log message for every --break breakpoint.
    #[command(flatten)]
    pub conditions: ConditionArgs,
    /// Stop at the program's first line and print it.
    #[arg(long, conflicts_with = "run")]
    pub stop_on_entry: bool,
    /// Start running at once instead of holding the program before its first line (the
    /// command returns while it runs; `borescope continue` waits for a stop).
    #[arg(long)]
    pub run: bool,
    /// Which exceptions stop the program.
    #[arg(long, value_enum, default_value_t = ExceptionsArg::Uncaught)]
    pub exceptions: ExceptionsArg,
    /// If the interpreter lacks debugpy, install it into borescope's cache and use it from
    /// there (the program's environment is not changed).
    #[arg(long)]
    pub provision_debugpy: bool,
    /// Seconds to wait for the first stop.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// How the program is started.
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// `borescope restart`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Seconds to wait for the first stop (when the session was started with --break).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// `borescope break`.
#[derive(Debug, Args)]
pub struct BreakArgs {
    /// Where: FILE:LINE.
    #[arg(value_name = "FILE:LINE", required_unless_present_any = ["list", "delete", "clear", "function"])]
    pub location: Option<String>,
    /// Stop when this function is called instead: `handle`, `Shop.total`, `pkg.module.func`
    /// (Python: a bare name stops in every function of that name; Node: the name must be
    /// reachable where the program is paused).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["location", "log"])]
    pub function: Option<String>,
    /// Condition, hit count, log message.
    #[command(flatten)]
    pub conditions: ConditionArgs,
    /// List breakpoints.
    #[arg(long, conflicts_with_all = ["delete", "clear", "condition", "hit", "log", "function"])]
    pub list: bool,
    /// Delete the breakpoint at FILE:LINE, or the one on function NAME.
    #[arg(long, value_name = "FILE:LINE|NAME", conflicts_with_all = ["clear", "condition", "hit", "log", "function"])]
    pub delete: Option<String>,
    /// Delete every breakpoint.
    #[arg(long, conflicts_with_all = ["condition", "hit", "log", "function"])]
    pub clear: bool,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// Arguments of run commands (`continue`, `next`, ...).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Seconds to wait for the program to stop before reporting it still runs.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// `borescope frame`.
#[derive(Debug, Args)]
pub struct FrameArgs {
    /// Frame number from `borescope stack` (0 = innermost).
    pub index: usize,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// `borescope vars`.
#[derive(Debug, Args)]
pub struct VarsArgs {
    /// What to expand: a name, then `.attr` or `[index]` / `['key']` steps.
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
    /// Also list closure and module variables (JavaScript; Python locals already include them).
    #[arg(long)]
    pub closures: bool,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// `borescope eval`.
#[derive(Debug, Args)]
#[command(after_help = "Quote the expression: `borescope eval 'order.total * 2'`. Options may come \
before or after it. After `--`, every word belongs to the expression and they are joined with \
spaces (`borescope eval -- -x`). Statements run too (`eval 'x = 5'` assigns). Exit code 1 when \
the evaluation raises.")]
pub struct EvalArgs {
    /// The expression (or statement) to evaluate in the selected frame.
    #[arg(value_name = "EXPR", required_unless_present = "words")]
    pub expression: Option<String>,
    /// The expression as words after `--` (joined with spaces).
    #[arg(last = true, value_name = "WORDS", conflicts_with = "expression")]
    pub words: Vec<String>,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

impl EvalArgs {
    /// The expression as one string.
    pub fn text(&self) -> String {
        match &self.expression {
            Some(expression) => expression.clone(),
            None => self.words.join(" "),
        }
    }
}

/// `borescope output`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Only lines after this cursor (printed as `next cursor` by the previous call).
    #[arg(long, value_name = "CURSOR", default_value_t = 0)]
    pub since: u64,
    /// At most this many lines.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub limit: usize,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}

/// `borescope input`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["text", "eof"]).multiple(true))]
pub struct InputArgs {
    /// The line to type (a newline is added unless --no-newline).
    #[arg(value_name = "TEXT")]
    pub text: Option<String>,
    /// Do not add a newline after TEXT.
    #[arg(long, requires = "text")]
    pub no_newline: bool,
    /// Close the program's standard input afterwards (it then reads end-of-file).
    #[arg(long)]
    pub eof: bool,
    /// The session.
    #[command(flatten)]
    pub session: SessionArg,
}
