//! Python function breakpoints through DAP's `setFunctionBreakpoints`.
//!
//! debugpy matches a function breakpoint against the bare name of the code that starts
//! (`co_name`), so `total` stops in every function or method called `total`. A dotted name
//! (`Shop.total`, `pkg.module.func`, `app.handle` for the script `app.py`) is sent as its last
//! part with a condition that narrows it: the condition, evaluated by debugpy as the function
//! starts, finds that function's frame on the stack (the debugger runs on top of it) and
//! compares its qualified name (`co_qualname`, Python 3.11+) prefixed with its module's name,
//! or with its file's stem, to what was asked. debugpy stops when the hit count *or* the
//! condition holds, so `--hit` is accepted only with a bare name and no condition.

use super::breakpoints::BreakpointTable;
use crate::DebuggerError;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::{BreakpointSpec, BreakpointState};

/// Frames the narrowing condition looks through for the function's own frame.
const FRAME_SEARCH: usize = 256;

/// Sends every function breakpoint (DAP replaces the previous set) and records their states.
pub(super) async fn send_function_breakpoints(client: &DapClient, table: &mut BreakpointTable) -> Result<(), DebuggerError> {
    let breakpoints: Vec<dap::FunctionBreakpoint> = table.functions().iter().filter_map(|e| dap_function(&e.spec)).collect();
    let reply = client
        .request::<dap::SetFunctionBreakpoints>(dap::SetFunctionBreakpointsArguments { breakpoints })
        .await?;
    let states = reply
        .breakpoints
        .into_iter()
        .map(|b| match (b.verified, b.message) {
            (true, _) => BreakpointState::Verified { line: b.line },
            (false, Some(message)) => BreakpointState::Rejected { message },
            (false, None) => BreakpointState::Pending,
        })
        .collect();
    table.update_function_states(states);
    Ok(())
}

/// Removes every function breakpoint from debugpy (it keeps them past a disconnect, and a
/// program left with one would stop with nobody attached).
pub(super) async fn clear_function_breakpoints(client: &DapClient) -> Result<(), DebuggerError> {
    client
        .request::<dap::SetFunctionBreakpoints>(dap::SetFunctionBreakpointsArguments { breakpoints: Vec::new() })
        .await?;
    Ok(())
}

/// Refuses what debugpy would do differently than asked: it stops when *either* the hit count
/// or the condition holds, and counts every function of the bare name, so `--hit` works only
/// alone with a bare name.
pub(super) fn check_python_function(spec: &BreakpointSpec) -> Result<(), DebuggerError> {
    let dotted = spec.function.as_deref().is_some_and(|n| n.contains('.'));
    if spec.hit.is_some() && (dotted || spec.condition.is_some()) {
        return Err(DebuggerError::BadCommand(
            "debugpy cannot count hits of a function breakpoint with a condition or a dotted name (it would stop when either holds, counting every function of the bare name); use --if alone, or --hit with a bare function name".into(),
        ));
    }
    Ok(())
}

/// The DAP form of a function breakpoint.
fn dap_function(spec: &BreakpointSpec) -> Option<dap::FunctionBreakpoint> {
    let name = spec.function.as_deref()?;
    let (short, narrowing) = match name.rsplit_once('.') {
        Some((_, short)) => (short, Some(narrowing_condition(short, name))),
        None => (name, None),
    };
    let condition = match (narrowing, &spec.condition) {
        (Some(narrow), Some(user)) => Some(format!("({narrow}) and ({user})")),
        (Some(narrow), None) => Some(narrow),
        (None, user) => user.clone(),
    };
    Some(dap::FunctionBreakpoint {
        name: short.to_string(),
        condition,
        hit_condition: spec.hit.map(|n| n.to_string()),
    })
}

/// A Python expression, true when the function `short` that is starting is `dotted`: its
/// frame is the nearest one below the debugger's with the same globals and code name. Before
/// Python 3.11 code objects have no qualified name; a method's is then taken from its `self`
/// (or `cls`) argument's class, so `Shop.total` still narrows there.
/// `short` and `dotted` are checked names (letters, digits, `_`, `.`, `$`), safe in quotes.
fn narrowing_condition(short: &str, dotted: &str) -> String {
    format!(
        "(lambda g, n, w: next(((('.' + g.get('__name__', '') + '.' + q).endswith(w) \
         or ('.' + __import__('os').path.splitext(__import__('os').path.basename(f.f_code.co_filename))[0] + '.' + q).endswith(w)) \
         for f in __import__('itertools').accumulate(range({FRAME_SEARCH}), lambda f, _: f and f.f_back, initial=__import__('sys')._getframe()) \
         if f is not None and f.f_globals is g and f.f_code.co_name == n \
         for q in [getattr(f.f_code, 'co_qualname', None) \
         or (type(f.f_locals['self']).__qualname__ + '.' + n if 'self' in f.f_locals \
         else (f.f_locals['cls'].__qualname__ + '.' + n if isinstance(f.f_locals.get('cls'), type) else n))]), False))\
         (globals(), '{short}', '.{dotted}')"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_go_as_they_are_and_dotted_names_are_narrowed() {
        let counted = BreakpointSpec { hit: Some(2), ..BreakpointSpec::on_function("handle") };
        assert!(check_python_function(&counted).is_ok());
        assert!(check_python_function(&BreakpointSpec { hit: Some(2), ..BreakpointSpec::on_function("Shop.total") }).is_err());
        assert!(check_python_function(&BreakpointSpec { condition: Some("x".into()), ..counted.clone() }).is_err());
        let plain = dap_function(&counted).unwrap();
        assert_eq!((plain.name.as_str(), plain.condition.as_deref(), plain.hit_condition.as_deref()), ("handle", None, Some("2")));
        let method = dap_function(&BreakpointSpec { condition: Some("n > 1".into()), ..BreakpointSpec::on_function("Shop.total") }).unwrap();
        assert_eq!(method.name, "total");
        let condition = method.condition.unwrap();
        assert!(condition.ends_with("(globals(), 'total', '.Shop.total')) and (n > 1)"), "{condition}");
        assert!(dap_function(&BreakpointSpec::at(borescope_model::Location { file: "/a.py".into(), line: 1 })).is_none());
    }
}
