//! Messages the Python agent sends (see `python/borescope_agent`). Field names match the agent.

use borescope_model::{EvalResult, Location, ThreadRef, Variable};
use serde::Deserialize;

/// One message from the agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// First message of every process.
    Hello(Hello),
    /// Locations or expressions that cannot work; the process exits right after.
    BadInput {
        /// Bad locations.
        #[serde(default)]
        locations: Vec<BadLocation>,
        /// Bad expressions.
        #[serde(default)]
        expressions: Vec<BadExpression>,
    },
    /// A requested line ran.
    Hit(AgentStop),
    /// An uncaught exception in the main thread.
    Exception(AgentStop),
    /// An uncaught exception in another thread (the program goes on).
    ThreadException(AgentStop),
    /// At normal exit: what ran, for an honest "not reached" report.
    Summary(Summary),
    /// Reply to a `threads` request.
    Threads {
        /// Every thread's stack.
        threads: Vec<ThreadFrames>,
        /// What ran so far.
        #[serde(default)]
        summary: Option<Summary>,
    },
    /// The engine watching the lines changed (the rewrite engine fell back to settrace).
    Engine {
        /// The engine now watching.
        engine: String,
        /// Why it changed.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Something the user should know.
    Notice {
        /// What happened.
        message: String,
    },
    /// The agent failed internally.
    AgentError {
        /// What failed.
        message: String,
    },
    /// The interpreter cannot import debugpy (listen job).
    NoDebugpy {
        /// The interpreter.
        executable: String,
        /// The import error.
        error: String,
    },
    /// debugpy listens (listen job).
    Listening {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
}

/// The agent's greeting.
#[derive(Debug, Clone, Deserialize)]
pub struct Hello {
    /// Process id.
    pub pid: u32,
    /// Runtime, e.g. `Python 3.12.1`.
    pub version: String,
    /// `sys.executable`.
    pub executable: String,
    /// The agent's own directory.
    #[serde(default)]
    pub agent_dir: Option<String>,
    /// Standard-library directories.
    #[serde(default)]
    pub runtime_dirs: Vec<String>,
    /// `sys.monitoring`, `rewrite`, `settrace` or `debugpy`.
    #[serde(default)]
    pub engine: Option<String>,
    /// Why the faster engine could not be used, when it could not.
    #[serde(default)]
    pub engine_reason: Option<String>,
    /// debugpy version (listen job).
    #[serde(default)]
    pub debugpy: Option<String>,
}

/// A location the agent refused.
#[derive(Debug, Clone, Deserialize)]
pub struct BadLocation {
    /// Real path.
    pub file: String,
    /// Line.
    pub line: u32,
    /// Why.
    pub reason: String,
    /// Nearest code line before.
    #[serde(default)]
    pub before: Option<u32>,
    /// Nearest code line after.
    #[serde(default)]
    pub after: Option<u32>,
}

/// An expression that does not compile.
#[derive(Debug, Clone, Deserialize)]
pub struct BadExpression {
    /// `--if` or `--eval`.
    pub option: String,
    /// The expression.
    pub text: String,
    /// Compiler message.
    pub error: String,
}

/// A frame as the agent reports it (kind is decided by borescope).
#[derive(Debug, Clone, Deserialize)]
pub struct AgentFrame {
    /// Function.
    pub function: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: u32,
}

/// An exception as the agent reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentException {
    /// Class name.
    pub type_name: String,
    /// Message.
    pub message: String,
    /// Uncaught.
    #[serde(default)]
    pub uncaught: bool,
    /// Where raised.
    #[serde(default)]
    pub raised_at: Option<Location>,
}

/// A captured stop.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentStop {
    /// Where.
    #[serde(default)]
    pub location: Option<Location>,
    /// Function.
    #[serde(default)]
    pub function: Option<String>,
    /// Hit number.
    #[serde(default)]
    pub hit: Option<u32>,
    /// Thread.
    #[serde(default)]
    pub thread: Option<ThreadRef>,
    /// Stack, innermost first.
    #[serde(default)]
    pub frames: Vec<AgentFrame>,
    /// Which frame the locals belong to.
    #[serde(default)]
    pub frame_index: usize,
    /// Locals.
    #[serde(default)]
    pub locals: Vec<Variable>,
    /// Locals left out.
    #[serde(default)]
    pub locals_omitted: usize,
    /// `--eval` results.
    #[serde(default)]
    pub evals: Vec<EvalResult>,
    /// For exception stops.
    #[serde(default)]
    pub exception: Option<AgentException>,
}

/// How often a line ran.
#[derive(Debug, Clone, Deserialize)]
pub struct LineCount {
    /// File.
    pub file: String,
    /// Line.
    pub line: u32,
    /// Times it ran.
    pub count: u64,
}

/// A condition error and how often it happened.
#[derive(Debug, Clone, Deserialize)]
pub struct ConditionError {
    /// The error text.
    pub error: String,
    /// Times.
    pub count: u64,
}

/// What ran, sent at exit.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// Process id.
    pub pid: u32,
    /// Target files whose code ran.
    #[serde(default)]
    pub loaded: Vec<String>,
    /// Target lines that ran.
    #[serde(default)]
    pub ran: Vec<LineCount>,
    /// Target lines that ran with the condition true.
    #[serde(default)]
    pub matched: Vec<LineCount>,
    /// Condition failures.
    #[serde(default)]
    pub condition_errors: Vec<ConditionError>,
}

/// A thread's stack (timeout report).
#[derive(Debug, Clone, Deserialize)]
pub struct ThreadFrames {
    /// The thread.
    pub thread: ThreadRef,
    /// Its frames, innermost first.
    pub frames: Vec<AgentFrame>,
}
