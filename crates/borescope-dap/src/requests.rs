//! Each DAP request we send, as a type with its arguments and response body.
//!
//! Only the fields borescope uses are modelled; unknown fields in responses are ignored.
//! Request arguments that vary a lot between adapters (`launch`, `attach`) stay as JSON values.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A DAP request: its command name, argument type and response body type.
pub trait Request {
    /// The `command` field.
    const COMMAND: &'static str;
    /// The `arguments` field.
    type Arguments: Serialize;
    /// The response `body` (use `Value` to ignore it).
    type Response: DeserializeOwned;
}

macro_rules! request {
    ($(#[$doc:meta])* $name:ident, $command:literal, $args:ty, $response:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Request for $name {
            const COMMAND: &'static str = $command;
            type Arguments = $args;
            type Response = $response;
        }
    };
}

request!(
    /// `initialize`: capabilities exchange.
    Initialize, "initialize", InitializeArguments, Value);
request!(
    /// `attach` (arguments are adapter-specific).
    Attach, "attach", Value, Value);
request!(
    /// `launch` (arguments are adapter-specific).
    Launch, "launch", Value, Value);
request!(
    /// `setBreakpoints`: replaces all breakpoints of one source.
    SetBreakpoints, "setBreakpoints", SetBreakpointsArguments, SetBreakpointsResponse);
request!(
    /// `setFunctionBreakpoints`: replaces all function breakpoints.
    SetFunctionBreakpoints, "setFunctionBreakpoints", SetFunctionBreakpointsArguments, SetBreakpointsResponse);
request!(
    /// `setExceptionBreakpoints`.
    SetExceptionBreakpoints, "setExceptionBreakpoints", SetExceptionBreakpointsArguments, Value);
request!(
    /// `configurationDone`: ends configuration; the program starts running.
    ConfigurationDone, "configurationDone", Value, Value);
request!(
    /// `threads`.
    Threads, "threads", Value, ThreadsResponse);
request!(
    /// `stackTrace`.
    StackTrace, "stackTrace", StackTraceArguments, StackTraceResponse);
request!(
    /// `scopes`.
    Scopes, "scopes", ScopesArguments, ScopesResponse);
request!(
    /// `variables`.
    Variables, "variables", VariablesArguments, VariablesResponse);
request!(
    /// `evaluate`.
    Evaluate, "evaluate", EvaluateArguments, EvaluateResponse);
request!(
    /// `continue`.
    Continue, "continue", ThreadArguments, Value);
request!(
    /// `next` (step over).
    Next, "next", ThreadArguments, Value);
request!(
    /// `stepIn`.
    StepIn, "stepIn", ThreadArguments, Value);
request!(
    /// `stepOut`.
    StepOut, "stepOut", ThreadArguments, Value);
request!(
    /// `pause`.
    Pause, "pause", ThreadArguments, Value);
request!(
    /// `exceptionInfo`: details of the exception a thread stopped on.
    ExceptionInfo, "exceptionInfo", ThreadArguments, ExceptionInfoResponse);
request!(
    /// `disconnect`.
    Disconnect, "disconnect", DisconnectArguments, Value);
request!(
    /// pydevd's `pydevdAuthorize`: presents the access token the debuggee was started with.
    PydevdAuthorize, "pydevdAuthorize", PydevdAuthorizeArguments, Value);

/// `initialize` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeArguments {
    /// Our id.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Our name.
    pub client_name: String,
    /// The adapter we expect.
    #[serde(rename = "adapterID")]
    pub adapter_id: String,
    /// Lines are 1-based.
    pub lines_start_at1: bool,
    /// Columns are 1-based.
    pub columns_start_at1: bool,
    /// Paths are file paths, not URIs.
    pub path_format: String,
    /// We show variable types.
    pub supports_variable_type: bool,
    /// We cannot run programs in a terminal.
    pub supports_run_in_terminal_request: bool,
}

impl InitializeArguments {
    /// The arguments borescope sends.
    pub fn borescope(adapter_id: &str) -> InitializeArguments {
        InitializeArguments {
            client_id: "borescope".into(),
            client_name: "borescope".into(),
            adapter_id: adapter_id.into(),
            lines_start_at1: true,
            columns_start_at1: true,
            path_format: "path".into(),
            supports_variable_type: true,
            supports_run_in_terminal_request: false,
        }
    }
}

/// A source file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Source {
    /// File path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One requested breakpoint.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceBreakpoint {
    /// 1-based line.
    pub line: u32,
    /// Condition expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Hit condition (debugpy accepts a number, `>= N`, `% N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_condition: Option<String>,
    /// Log message: makes it a logpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
}

/// `setBreakpoints` arguments.
#[derive(Debug, Clone, Serialize)]
pub struct SetBreakpointsArguments {
    /// The file.
    pub source: Source,
    /// All breakpoints for it.
    pub breakpoints: Vec<SourceBreakpoint>,
}

/// One requested function breakpoint.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionBreakpoint {
    /// The function's name (debugpy matches it against the running code's name).
    pub name: String,
    /// Condition expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Hit condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_condition: Option<String>,
}

/// `setFunctionBreakpoints` arguments.
#[derive(Debug, Clone, Serialize)]
pub struct SetFunctionBreakpointsArguments {
    /// Every function breakpoint (the previous ones are replaced).
    pub breakpoints: Vec<FunctionBreakpoint>,
}

/// One breakpoint as the adapter bound it.
#[derive(Debug, Clone, Deserialize)]
pub struct Breakpoint {
    /// Adapter id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Whether it is bound to code.
    #[serde(default)]
    pub verified: bool,
    /// The bound line.
    #[serde(default)]
    pub line: Option<u32>,
    /// Why not verified.
    #[serde(default)]
    pub message: Option<String>,
}

/// `setBreakpoints` response.
#[derive(Debug, Clone, Deserialize)]
pub struct SetBreakpointsResponse {
    /// One per requested breakpoint, in order.
    pub breakpoints: Vec<Breakpoint>,
}

/// `setExceptionBreakpoints` arguments.
#[derive(Debug, Clone, Serialize)]
pub struct SetExceptionBreakpointsArguments {
    /// Filter ids (`uncaught`, `raised`, ...).
    pub filters: Vec<String>,
}

/// A thread.
#[derive(Debug, Clone, Deserialize)]
pub struct Thread {
    /// Thread id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// `threads` response.
#[derive(Debug, Clone, Deserialize)]
pub struct ThreadsResponse {
    /// All threads.
    pub threads: Vec<Thread>,
}

/// `stackTrace` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTraceArguments {
    /// Thread id.
    pub thread_id: i64,
    /// First frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_frame: Option<u32>,
    /// Max frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<u32>,
}

/// A stack frame.
#[derive(Debug, Clone, Deserialize)]
pub struct StackFrame {
    /// Frame id (valid while stopped).
    pub id: i64,
    /// Function name.
    pub name: String,
    /// Source.
    #[serde(default)]
    pub source: Option<Source>,
    /// 1-based line.
    #[serde(default)]
    pub line: u32,
}

/// `stackTrace` response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTraceResponse {
    /// Frames, innermost first.
    pub stack_frames: Vec<StackFrame>,
    /// Total frames available.
    #[serde(default)]
    pub total_frames: Option<u32>,
}

/// `scopes` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopesArguments {
    /// Frame id.
    pub frame_id: i64,
}

/// A scope.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// Name (`Locals`, `Globals`).
    pub name: String,
    /// Reference for `variables`.
    pub variables_reference: i64,
    /// Hint (`locals`).
    #[serde(default)]
    pub presentation_hint: Option<String>,
}

/// `scopes` response.
#[derive(Debug, Clone, Deserialize)]
pub struct ScopesResponse {
    /// Scopes, innermost first.
    pub scopes: Vec<Scope>,
}

/// `variables` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariablesArguments {
    /// Container reference.
    pub variables_reference: i64,
    /// First child.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    /// Number of children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// A variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Name.
    pub name: String,
    /// Display value.
    pub value: String,
    /// Type.
    #[serde(default, rename = "type")]
    pub type_name: Option<String>,
    /// > 0 when it has children.
    #[serde(default)]
    pub variables_reference: i64,
    /// Expression that evaluates to it.
    #[serde(default)]
    pub evaluate_name: Option<String>,
}

/// `variables` response.
#[derive(Debug, Clone, Deserialize)]
pub struct VariablesResponse {
    /// The children.
    pub variables: Vec<Variable>,
}

/// `evaluate` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateArguments {
    /// The expression.
    pub expression: String,
    /// Frame to evaluate in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_id: Option<i64>,
    /// `repl`, `watch`, `hover`, `clipboard`.
    pub context: String,
    /// How the result is formatted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<ValueFormat>,
}

/// DAP `ValueFormat`, with debugpy's `rawString` (a string result as its text, not its repr).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueFormat {
    /// Show integers in hexadecimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<bool>,
    /// A string result as its own text (no quotes, no escapes, no length limit in debugpy's
    /// `clipboard` context).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_string: Option<bool>,
}

/// `evaluate` response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateResponse {
    /// Display value.
    pub result: String,
    /// Type.
    #[serde(default, rename = "type")]
    pub type_name: Option<String>,
    /// > 0 when it has children.
    #[serde(default)]
    pub variables_reference: i64,
}

/// Arguments that name only a thread.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadArguments {
    /// Thread id.
    pub thread_id: i64,
}

/// `exceptionInfo` response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionInfoResponse {
    /// Exception id (usually the type name).
    pub exception_id: String,
    /// Description (usually the message).
    #[serde(default)]
    pub description: Option<String>,
    /// `always`, `unhandled`, `userUnhandled`.
    #[serde(default)]
    pub break_mode: Option<String>,
    /// Details.
    #[serde(default)]
    pub details: Option<ExceptionDetails>,
}

/// Exception details.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionDetails {
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// Short type name.
    #[serde(default)]
    pub type_name: Option<String>,
    /// Full type name.
    #[serde(default)]
    pub full_type_name: Option<String>,
    /// Formatted stack.
    #[serde(default)]
    pub stack_trace: Option<String>,
}

/// `disconnect` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectArguments {
    /// End the debuggee too.
    pub terminate_debuggee: bool,
}

/// `pydevdAuthorize` arguments.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PydevdAuthorizeArguments {
    /// The token the debuggee expects.
    pub debug_server_access_token: String,
}
