//! Typed errors of the debugger capability. Each says what went wrong and, where there is one,
//! the fix; the binary prints them and picks the exit code from [`DebuggerError::is_input_error`].

use std::path::PathBuf;

/// A location that cannot be probed or stopped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationProblem {
    /// The file as the user wrote it.
    pub file: String,
    /// The requested line.
    pub line: u32,
    /// What is wrong.
    pub reason: String,
    /// The nearest line before it that has code.
    pub before: Option<u32>,
    /// The nearest line after it that has code.
    pub after: Option<u32>,
}

impl std::fmt::Display for LocationProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}:{}`: {}", self.file, self.line, self.reason)?;
        let near: Vec<String> = [self.before, self.after]
            .iter()
            .flatten()
            .map(|n| n.to_string())
            .collect();
        if !near.is_empty() {
            write!(f, "; nearest lines with code: {}", near.join(", "))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in a probe or a session.
#[derive(Debug, thiserror::Error)]
pub enum DebuggerError {
    /// A `FILE:LINE` does not point at code.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    BadLocation(Vec<LocationProblem>),
    /// An expression (`--if`, `--eval`, a condition) does not compile.
    #[error("{option} `{text}` is not a valid expression: {error}")]
    BadExpression {
        /// Which option carried it.
        option: String,
        /// The expression.
        text: String,
        /// The compiler's message.
        error: String,
    },
    /// The command line is unusable as given.
    #[error("{0}")]
    BadCommand(String),
    /// The program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The target interpreter cannot import debugpy.
    #[error(
        "`{executable}` cannot import debugpy, which interactive Python sessions need\n\
         hint: install it for that interpreter: `{executable} -m pip install debugpy`\n\
         hint: or let borescope use its own cached copy: add `--provision-debugpy` to `borescope start`"
    )]
    NoDebugpy {
        /// The interpreter that ran the program.
        executable: String,
    },
    /// Getting debugpy into the cache failed.
    #[error("cannot provision debugpy into `{dir}`: {message}")]
    Provision {
        /// The cache directory.
        dir: PathBuf,
        /// What failed.
        message: String,
    },
    /// The program never loaded borescope's agent (not Python, or `-I`/`-E`).
    #[error(
        "the program did not load borescope's Python agent, so it cannot be debugged this way\n\
         hint: the command must run Python without `-I`/`-E` (they ignore PYTHONPATH); \
         run the script directly, e.g. `-- python3 app.py`"
    )]
    AgentNotLoaded,
    /// The Python agent reported an internal failure.
    #[error("borescope's Python agent failed: {0}")]
    Agent(String),
    /// The program ended before the debugger could connect.
    #[error("the program exited ({exit}) before the debugger was ready{output}")]
    ExitedEarly {
        /// How it exited.
        exit: String,
        /// Its last output lines, indented, each on its own line (may be empty).
        output: String,
    },
    /// A debugger step took too long.
    #[error("{0}")]
    Timeout(String),
    /// Talking DAP failed.
    #[error(transparent)]
    Dap(#[from] borescope_dap::DapError),
    /// Talking CDP failed.
    #[error(transparent)]
    Cdp(#[from] borescope_cdp::CdpError),
    /// The embedded agent could not be unpacked.
    #[error(transparent)]
    AgentFiles(#[from] borescope_pyagent::AgentError),
    /// Any other I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What borescope was doing.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The debugger answered something we cannot use.
    #[error("{0}")]
    Protocol(String),
    /// The request makes no sense in the current state (e.g. `vars` while running).
    #[error("{0}")]
    State(String),
}

impl DebuggerError {
    /// True for errors caused by what the user typed (exit code 2, nothing was run).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            DebuggerError::BadLocation(_)
                | DebuggerError::BadExpression { .. }
                | DebuggerError::BadCommand(_)
                | DebuggerError::NoDebugpy { .. }
                | DebuggerError::AgentNotLoaded
                | DebuggerError::Spawn { .. }
        )
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DebuggerError {
        let context = context.into();
        move |source| DebuggerError::Io { context, source }
    }
}
