//! Node function breakpoints. V8 has no breakpoints by name, so a name is resolved to the
//! function it denotes by evaluating it where the program is paused (each paused frame, top
//! first, then the global scope; at Node's start a module's function declarations are already
//! hoisted), its `[[FunctionLocation]]` is read, and a breakpoint is set at that position of
//! that script: V8 moves it to the first statement of the body.
//!
//! `Class.method` is tried as written (a static method) and as `Class.prototype.method`.

use super::breakpoints::condition;
use crate::DebuggerError;
use borescope_cdp::commands as cdp;
use borescope_cdp::events::Paused;
use borescope_cdp::types::{RemoteObject, ScriptLocation};
use borescope_cdp::CdpClient;
use borescope_model::BreakpointSpec;

/// A function breakpoint V8 has placed.
pub(crate) struct PlacedFunction {
    /// V8's breakpoint id.
    pub v8_id: String,
    /// Where it will pause: the first statement of the function's body.
    pub at: ScriptLocation,
}

/// Resolves `spec.function` from `pause` (or globally when running) and sets the breakpoint.
pub(crate) async fn place(client: &CdpClient, pause: Option<&Paused>, spec: &BreakpointSpec) -> Result<PlacedFunction, DebuggerError> {
    let name = spec.function.as_deref().unwrap_or_default();
    let location = locate(client, pause, name).await?;
    let placed = client
        .call::<cdp::SetBreakpoint>(cdp::BreakpointAt { location, condition: condition(spec) })
        .await?;
    Ok(PlacedFunction { v8_id: placed.breakpoint_id, at: placed.actual_location })
}

/// Where the function `name` starts.
async fn locate(client: &CdpClient, pause: Option<&Paused>, name: &str) -> Result<ScriptLocation, DebuggerError> {
    let mut expressions = vec![name.to_string()];
    if let Some((owner, method)) = name.rsplit_once('.') {
        expressions.push(format!("{owner}.prototype.{method}"));
    }
    for expression in &expressions {
        for frame in pause.map(|p| p.call_frames.as_slice()).unwrap_or_default() {
            let reply = client
                .call::<cdp::EvaluateOnCallFrame>(cdp::EvaluateOnFrame {
                    call_frame_id: frame.call_frame_id.clone(),
                    expression: expression.clone(),
                    generate_preview: false,
                    silent: true,
                })
                .await?;
            if let Some(location) = function_location(client, &reply).await? {
                return Ok(location);
            }
        }
        let reply = client
            .call::<cdp::RuntimeEvaluate>(cdp::GlobalEvaluate { expression: expression.clone(), silent: true })
            .await?;
        if let Some(location) = function_location(client, &reply).await? {
            return Ok(location);
        }
    }
    Err(DebuggerError::BadCommand(match pause {
        Some(_) => format!(
            "no function `{name}` is visible from where the program is paused (not defined yet, or not in scope there)\n\
             hint: set it again once the module that defines it has loaded and the program is paused in it, or use `borescope break FILE:LINE`"
        ),
        None => format!(
            "cannot find function `{name}` while the program runs: V8 finds a function by evaluating its name where the program is paused, and only global names can be reached now\n\
             hint: pause in the module that defines it (`borescope pause`, a breakpoint there, or `borescope start --stop-on-entry`) and set it again, or use `borescope break FILE:LINE`"
        ),
    }))
}

/// The `[[FunctionLocation]]` of an evaluation's result, when it is a function.
async fn function_location(client: &CdpClient, reply: &cdp::Evaluated) -> Result<Option<ScriptLocation>, DebuggerError> {
    let RemoteObject { kind, object_id: Some(object_id), .. } = &reply.result else {
        return Ok(None);
    };
    if reply.exception_details.is_some() || kind != "function" {
        return Ok(None);
    }
    let properties = client
        .call::<cdp::GetProperties>(cdp::PropertiesOf { object_id: object_id.clone(), own_properties: true, generate_preview: false })
        .await?;
    let location = properties
        .internal_properties
        .into_iter()
        .find(|p| p.name == "[[FunctionLocation]]")
        .and_then(|p| p.value?.value)
        .and_then(|value| serde_json::from_value::<ScriptLocation>(value).ok());
    Ok(location)
}
