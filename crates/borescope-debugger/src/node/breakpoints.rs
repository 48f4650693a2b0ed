//! Node breakpoints: the shared table plus V8's ids, hit counts, and conditions built from
//! `--if`, `--log` (a logpoint is a condition that logs and is false, so it never pauses).

use super::urls::url_regex;
use crate::session::conditions::{template_pieces, TemplatePiece};
use crate::session::{BreakpointTable, PathMappings};
use crate::DebuggerError;
use borescope_cdp::commands::{BreakpointByUrl, SetBreakpointByUrl};
use borescope_cdp::CdpClient;
use borescope_model::{BreakpointSpec, BreakpointState};
use std::collections::HashMap;

/// Breakpoints of one Node session.
#[derive(Debug, Default)]
pub(crate) struct NodeBreakpoints {
    pub table: BreakpointTable,
    /// borescope id → V8 breakpoint id.
    pub v8_ids: HashMap<u32, String>,
    /// V8 breakpoint id → pauses so far (condition true).
    pub hits: HashMap<String, u32>,
    /// borescope ids already re-set once after binding to another line.
    pub rebound: std::collections::HashSet<u32>,
    /// Local directories versus the program's (a program reached by address); breakpoints
    /// are kept with local paths and sent with the program's.
    pub paths: PathMappings,
}

/// What to do with a pause at breakpoints.
pub(crate) enum HitDecision {
    /// Stop, reporting this hit number.
    Stop(Option<u32>),
    /// Not the requested hit yet: resume.
    Resume,
}

impl NodeBreakpoints {
    /// Counts a pause at `hit` (V8 ids) and decides whether it is a stop.
    pub fn count(&mut self, hit: &[String]) -> HitDecision {
        let mut decision = HitDecision::Resume;
        for v8_id in hit {
            let count = self.hits.entry(v8_id.clone()).or_default();
            *count += 1;
            let wanted = self
                .v8_ids
                .iter()
                .find(|(_, v)| *v == v8_id)
                .and_then(|(id, _)| self.table.get(*id))
                .map(|info| info.spec.hit);
            match wanted {
                Some(Some(n)) if *count != n => {}
                Some(_) | None => decision = HitDecision::Stop(Some(*count)),
            }
        }
        decision
    }

    /// The hit ids that really are at `file:line`. V8 sometimes lists a breakpoint elsewhere in
    /// the script (the initial pause is reported as `ambiguous` with one), so a pause counts as a
    /// breakpoint hit only where the breakpoint is bound.
    pub fn at(&self, hit: &[String], file: Option<&str>, line: u32) -> Vec<String> {
        let file = file.map(|f| self.paths.to_local(f));
        let file = file.as_deref();
        hit.iter()
            .filter(|v8_id| {
                let entry = self
                    .v8_ids
                    .iter()
                    .find(|(_, v)| v == v8_id)
                    .and_then(|(id, _)| self.table.get(*id));
                // Only where it was asked for: V8 slides breakpoints in functions it has not
                // compiled out to the next top-level statement, and a pause there is not a hit.
                entry.and_then(|info| info.spec.location.as_ref()).is_some_and(|l| l.line == line && file.is_none_or(|f| f == l.file))
            })
            .cloned()
            .collect()
    }

    /// Records that V8 bound a pending breakpoint. Returns the breakpoint to set again when V8
    /// bound it to another line: a breakpoint set before its script was parsed, inside a function
    /// V8 had not compiled yet, slides out to top-level code; set again now that the script is
    /// parsed, it binds where asked.
    /// The returned breakpoint is in the program's terms, ready for [`send`].
    pub fn resolved(&mut self, v8_id: &str, line0: u32) -> Option<(u32, BreakpointSpec)> {
        let (&id, _) = self.v8_ids.iter().find(|(_, v)| *v == v8_id)?;
        self.table.set_state(id, BreakpointState::Verified { line: Some(line0 + 1) });
        let spec = self.table.get(id)?.spec.clone();
        let asked = spec.line_location()?.line;
        if asked != line0 + 1 && self.rebound.insert(id) {
            return Some((id, self.wire(&spec)));
        }
        None
    }

    /// A line breakpoint as the program names its file.
    pub fn wire(&self, spec: &BreakpointSpec) -> BreakpointSpec {
        let location = spec.location.clone().map(|l| borescope_model::Location { file: self.paths.to_remote(&l.file), ..l });
        BreakpointSpec { location, ..spec.clone() }
    }
}

/// The V8 condition for a breakpoint: `--if` and/or a logpoint message.
pub(crate) fn condition(spec: &BreakpointSpec) -> Option<String> {
    match (&spec.condition, &spec.log) {
        (None, None) => None,
        (Some(cond), None) => Some(cond.clone()),
        (cond, Some(message)) => {
            let log = format!("(console.log({}), false)", template(message));
            Some(match cond {
                Some(cond) => format!("({cond}) && {log}"),
                None => log,
            })
        }
    }
}

/// `x is {x}` -> a JavaScript template literal `` `x is ${x}` ``. A message that does not
/// split (refused when set) is logged as plain text.
fn template(message: &str) -> String {
    let pieces = template_pieces(message).unwrap_or_else(|_| vec![TemplatePiece::Text(message.to_string())]);
    let mut out = String::from("`");
    for piece in pieces {
        match piece {
            TemplatePiece::Expr(expr) => {
                out.push_str("${");
                out.push_str(&expr);
                out.push('}');
            }
            TemplatePiece::Text(text) => {
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '`' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
                        other => out.push(other),
                    }
                }
            }
        }
    }
    out.push('`');
    out
}

/// Sets one line breakpoint in V8 (its file in the program's terms, see
/// [`NodeBreakpoints::wire`]); returns its V8 id and state.
pub(crate) async fn send(client: &CdpClient, spec: &BreakpointSpec) -> Result<(String, BreakpointState), DebuggerError> {
    let location = spec
        .line_location()
        .ok_or_else(|| DebuggerError::Protocol("a function breakpoint was sent as a line breakpoint".into()))?;
    let reply = client
        .call::<SetBreakpointByUrl>(BreakpointByUrl {
            line_number: location.line.saturating_sub(1),
            url_regex: url_regex(&location.file),
            condition: condition(spec),
        })
        .await?;
    let state = match reply.locations.first() {
        Some(location) => BreakpointState::Verified { line: Some(location.line_number + 1) },
        None => BreakpointState::Pending,
    };
    Ok((reply.breakpoint_id, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use borescope_model::Location;

    fn spec(condition: Option<&str>, log: Option<&str>) -> BreakpointSpec {
        BreakpointSpec {
            location: Some(Location { file: "/a.js".into(), line: 3 }),
            function: None,
            condition: condition.map(String::from),
            hit: None,
            log: log.map(String::from),
        }
    }

    #[test]
    fn logpoints_log_and_never_pause() {
        assert_eq!(condition(&spec(None, Some("x is {x.y}, `q`"))).unwrap(), "(console.log(`x is ${x.y}, \\`q\\``), false)");
        assert_eq!(condition(&spec(Some("n > 1"), Some("n={n}"))).unwrap(), "(n > 1) && (console.log(`n=${n}`), false)");
        assert_eq!(condition(&spec(Some("n > 1"), None)).unwrap(), "n > 1");
    }
}
