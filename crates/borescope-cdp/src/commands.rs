//! One type per CDP command we send.

use crate::types::{ExceptionDetails, PropertyDescriptor, RemoteObject, ScriptLocation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A CDP command: its method name, parameters and result.
pub trait Command {
    /// e.g. `Debugger.enable`.
    const METHOD: &'static str;
    /// Parameters.
    type Params: Serialize;
    /// Result.
    type Result: DeserializeOwned;
}

macro_rules! command {
    ($(#[$doc:meta])* $name:ident, $method:literal, $params:ty, $result:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Command for $name {
            const METHOD: &'static str = $method;
            type Params = $params;
            type Result = $result;
        }
    };
}

/// No parameters.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct NoParams {}

command!(
    /// `Debugger.enable`.
    DebuggerEnable, "Debugger.enable", NoParams, Value);
command!(
    /// `Runtime.enable`.
    RuntimeEnable, "Runtime.enable", NoParams, Value);
command!(
    /// `Runtime.runIfWaitingForDebugger`: lets `--inspect-brk` start.
    RunIfWaitingForDebugger, "Runtime.runIfWaitingForDebugger", NoParams, Value);
command!(
    /// `Debugger.setAsyncCallStackDepth`.
    SetAsyncCallStackDepth, "Debugger.setAsyncCallStackDepth", AsyncDepth, Value);
command!(
    /// `Debugger.setBreakpointByUrl`.
    SetBreakpointByUrl, "Debugger.setBreakpointByUrl", BreakpointByUrl, BreakpointSet);
command!(
    /// `Debugger.removeBreakpoint`.
    RemoveBreakpoint, "Debugger.removeBreakpoint", BreakpointId, Value);
command!(
    /// `Debugger.setPauseOnExceptions`.
    SetPauseOnExceptions, "Debugger.setPauseOnExceptions", PauseOnExceptions, Value);
command!(
    /// `Debugger.resume`.
    Resume, "Debugger.resume", NoParams, Value);
command!(
    /// `Debugger.stepOver`.
    StepOver, "Debugger.stepOver", NoParams, Value);
command!(
    /// `Debugger.stepInto`.
    StepInto, "Debugger.stepInto", NoParams, Value);
command!(
    /// `Debugger.stepOut`.
    StepOut, "Debugger.stepOut", NoParams, Value);
command!(
    /// `Debugger.pause`.
    Pause, "Debugger.pause", NoParams, Value);
command!(
    /// `Debugger.evaluateOnCallFrame`.
    EvaluateOnCallFrame, "Debugger.evaluateOnCallFrame", EvaluateOnFrame, Evaluated);
command!(
    /// `Runtime.getProperties`.
    GetProperties, "Runtime.getProperties", PropertiesOf, Properties);
command!(
    /// `Runtime.compileScript`: a syntax check when `persist_script` is false.
    CompileScript, "Runtime.compileScript", CompileSource, Compiled);
command!(
    /// `Runtime.evaluate`: an expression in the global scope (the program may be running).
    RuntimeEvaluate, "Runtime.evaluate", GlobalEvaluate, Evaluated);
command!(
    /// `Debugger.setBreakpoint`: a breakpoint at a position of one parsed script.
    SetBreakpoint, "Debugger.setBreakpoint", BreakpointAt, BreakpointPlaced);
command!(
    /// `Debugger.getScriptSource`: the text of a parsed script.
    GetScriptSource, "Debugger.getScriptSource", ScriptId, ScriptSource);
command!(
    /// `Debugger.disable`: this client's breakpoints are removed and a pause ends.
    DebuggerDisable, "Debugger.disable", NoParams, Value);

/// `setAsyncCallStackDepth` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncDepth {
    /// 0 disables.
    pub max_depth: u32,
}

/// `setBreakpointByUrl` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointByUrl {
    /// 0-based line.
    pub line_number: u32,
    /// Regex the script URL must match.
    pub url_regex: String,
    /// Only break when true (JavaScript expression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `setBreakpointByUrl` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointSet {
    /// Id for removal and `hitBreakpoints`.
    pub breakpoint_id: String,
    /// Where it bound (empty: pending until a matching script is parsed).
    #[serde(default)]
    pub locations: Vec<ScriptLocation>,
}

/// A breakpoint id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointId {
    /// The id.
    pub breakpoint_id: String,
}

/// `setPauseOnExceptions` params.
#[derive(Debug, Clone, Serialize)]
pub struct PauseOnExceptions {
    /// `none`, `uncaught`, `all`.
    pub state: String,
}

/// `evaluateOnCallFrame` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateOnFrame {
    /// Frame.
    pub call_frame_id: String,
    /// Expression.
    pub expression: String,
    /// Include a preview of objects.
    pub generate_preview: bool,
    /// Do not pause on exceptions thrown by the expression.
    pub silent: bool,
}

/// `evaluateOnCallFrame` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluated {
    /// The value (or the thrown exception).
    pub result: RemoteObject,
    /// Set when the expression threw.
    #[serde(default)]
    pub exception_details: Option<ExceptionDetails>,
}

/// `getProperties` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertiesOf {
    /// The object.
    pub object_id: String,
    /// Only own properties.
    pub own_properties: bool,
    /// Include previews.
    pub generate_preview: bool,
}

/// `getProperties` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Properties {
    /// The properties.
    pub result: Vec<PropertyDescriptor>,
    /// V8's internal slots (`[[FunctionLocation]]`, `[[Scopes]]`, ...).
    #[serde(default)]
    pub internal_properties: Vec<PropertyDescriptor>,
}

/// `Runtime.evaluate` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalEvaluate {
    /// Expression.
    pub expression: String,
    /// Do not pause on exceptions thrown by the expression.
    pub silent: bool,
}

/// `setBreakpoint` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointAt {
    /// Where.
    pub location: ScriptLocation,
    /// Only break when true (JavaScript expression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `setBreakpoint` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointPlaced {
    /// Id for removal and `hitBreakpoints`.
    pub breakpoint_id: String,
    /// Where V8 put it (the first position it can break at, at or after the one asked).
    pub actual_location: ScriptLocation,
}

/// A script id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptId {
    /// The id from `Debugger.scriptParsed` or a frame's location.
    pub script_id: String,
}

/// `getScriptSource` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptSource {
    /// The script's text.
    pub script_source: String,
}

/// `compileScript` params.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompileSource {
    /// The source.
    pub expression: String,
    /// Name it is reported under.
    #[serde(rename = "sourceURL")]
    pub source_url: String,
    /// Keep the compiled script (false: only check it).
    pub persist_script: bool,
}

/// `compileScript` result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Compiled {
    /// Set when the source does not compile.
    #[serde(default)]
    pub exception_details: Option<ExceptionDetails>,
}
