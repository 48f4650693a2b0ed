//! One stop of a program: why it stopped, where, the stack, the locals, evaluated expressions.
//! Shared by probes (one stop per hit) and sessions (one stop per pause).

use crate::Location;
use serde::{Deserialize, Serialize};

/// Why the program stopped (or was captured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// A breakpoint location ran.
    Breakpoint {
        /// Which hit of this location this is (1 = first), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hit: Option<u32>,
    },
    /// A step (`next`, `step`, `out`) finished.
    Step,
    /// The program was paused on request.
    Pause,
    /// The program stopped before running its first line (`--stop-on-entry`).
    Entry,
    /// An exception stopped the program.
    Exception(ExceptionInfo),
    /// Any other reason the debugger gave, kept verbatim.
    Other {
        /// The debugger's own description.
        description: String,
    },
}

/// An exception that stopped the program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionInfo {
    /// Exception class, e.g. `KeyError` or `TypeError`.
    pub type_name: String,
    /// The exception's message (`str(exc)` or the JS `message`).
    pub message: String,
    /// Whether it was uncaught (`true`) or stopped because raised exceptions break (`false`).
    pub uncaught: bool,
    /// Where it was raised, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raised_at: Option<Location>,
}

/// Which kind of code a frame runs; non-user frames are collapsed in text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// The user's own code.
    User,
    /// Installed third-party code (site-packages, node_modules).
    Library,
    /// The language's standard library or runtime internals (`node:internal`, `<frozen ...>`).
    Runtime,
    /// borescope's own agent or the debugger's code.
    Debugger,
}

/// One stack frame, innermost first in every list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Position in the stack, 0 = innermost. Use it with `borescope frame N`.
    pub index: usize,
    /// Function name (`<module>` for module code).
    pub function: String,
    /// Absolute source path, when the frame has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Which kind of code this is.
    pub kind: FrameKind,
}

/// A named value: a local variable, an attribute, an element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// Name (`order`, `.total`, `[0]`, `['key']`).
    pub name: String,
    /// Type name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Display text of the value, already cut to the budget.
    pub value: String,
    /// Full length in characters when `value` was cut and the length is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_length: Option<usize>,
    /// True when `value` was already cut where it was captured (it ends with `...`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub cut: bool,
    /// True when the value was hidden because the name looks secret.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redacted: bool,
    /// True when the value has children that `borescope vars NAME` can show.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expandable: bool,
    /// Children, when expanded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Variable>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The result of an expression evaluated in the stopped frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// The expression as given.
    pub expression: String,
    /// The value, when evaluation succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Variable>,
    /// The error text, when evaluation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set when the text was not an expression and ran as statements instead (a session's
    /// `eval 'x = 5'`); `value` is then absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementResult>,
}

/// What statements run by `eval` did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatementResult {
    /// The new value of each simple name the statements assigned (`x = 5` gives `x`), in
    /// order; empty when they assigned none (a call, a loop, an import).
    #[serde(default)]
    pub assigned: Vec<Variable>,
}

/// Lines of source around the stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceContext {
    /// Line number of `lines[0]`.
    pub first_line: u32,
    /// The line the program is stopped at.
    pub current_line: u32,
    /// Source text, one entry per line, without newlines.
    pub lines: Vec<String>,
}

/// A thread of the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRef {
    /// The debugger's thread id.
    pub id: i64,
    /// The thread's name.
    pub name: String,
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit status, when it exited normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl ExitInfo {
    /// Short text: `exit code 3` or `killed by signal 9`.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "exit status unknown".to_string(),
        }
    }
}

/// Which stream a line of program output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of program output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputLine {
    /// Where it was written.
    pub stream: OutputStream,
    /// The text, without the newline.
    pub text: String,
}

/// The last lines a program printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputTail {
    /// The last lines, oldest first.
    pub lines: Vec<OutputLine>,
    /// How many earlier lines are not included.
    pub omitted: u64,
}

/// Something the reader should know: what was cut and how to see it, or a caveat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// What happened.
    pub message: String,
    /// What to do about it (usually a flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Notice {
    /// A notice with a hint.
    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> Notice {
        Notice {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A notice without a hint.
    pub fn plain(message: impl Into<String>) -> Notice {
        Notice {
            message: message.into(),
            hint: None,
        }
    }
}

/// One stop: the full picture of a program at a moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Why it stopped.
    pub reason: StopReason,
    /// Where (the innermost user frame's location for exceptions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Function at `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The thread that stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadRef>,
    /// Source lines around `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceContext>,
    /// The stopped thread's stack, innermost first.
    #[serde(default)]
    pub stack: Vec<Frame>,
    /// Index into `stack` of the frame whose locals are shown.
    #[serde(default)]
    pub frame_index: usize,
    /// Local variables of that frame (block scopes merged for JavaScript).
    #[serde(default)]
    pub locals: Vec<Variable>,
    /// Locals not listed because of the variable budget.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub locals_omitted: usize,
    /// Results of `--eval` expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evals: Vec<EvalResult>,
    /// Caveats about this stop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}
