//! A Node program held before its first line (`start` without `--break`): V8's initial pause
//! is kept rather than reported, and the first run command decides what it becomes.

use super::evaluate::evaluate;
use super::session::{NodePause, NodeSession};
use crate::session::{RunAction, RunState};
use crate::DebuggerError;
use borescope_cdp::events::Paused;
use borescope_model::{BreakpointSpec, Budget, StopReason};
use std::sync::Arc;

impl NodeSession {
    /// The first run command of a held program: `continue` resumes it (or reports the
    /// breakpoint set on the very line it is held at), `next`/`step` show where it is held as a
    /// stop at its first line.
    pub(super) async fn leave_entry(&self, action: RunAction) -> Result<(), DebuggerError> {
        let Some(event) = self.entry.lock().ok().and_then(|mut e| e.take()) else {
            self.core.release();
            return self.send_action(RunAction::Continue).await;
        };
        let reason = match action {
            RunAction::Continue => match self.breakpoint_at_entry(&event).await {
                Some(reason) => reason,
                None => {
                    self.core.release();
                    return self.send_action(RunAction::Continue).await;
                }
            },
            _ => StopReason::Entry,
        };
        let pause = Arc::new(NodePause { event, reason });
        self.core.state.send_modify(|s| {
            if s.run.is_held() {
                s.epoch += 1;
                s.run = RunState::Paused(pause);
            }
        });
        Ok(())
    }

    /// A breakpoint set on the line a held program waits at would never fire (that line's
    /// pause already happened): when its condition holds there, it is this stop.
    async fn breakpoint_at_entry(&self, event: &Paused) -> Option<StopReason> {
        let top = event.call_frames.first()?;
        let file = self.scripts.lock().ok()?.get(&top.location.script_id).map(|url| super::urls::url_to_path(url))?;
        let line = top.location.line_number + 1;
        let candidates: Vec<(String, BreakpointSpec)> = {
            let table = self.breakpoints.lock().ok()?;
            table
                .table
                .all()
                .into_iter()
                .filter(|b| b.spec.line_location().is_some_and(|l| l.file == file && l.line == line))
                .filter_map(|b| table.v8_ids.get(&b.id).map(|v8| (v8.clone(), b.spec)))
                .collect()
        };
        let mut hit = Vec::new();
        for (v8_id, spec) in candidates {
            let holds = match super::breakpoints::condition(&spec) {
                None => true,
                Some(condition) => {
                    // JavaScript's own truth (`!!`), read as a boolean; a logpoint logs here and
                    // is false, as it would be on the line.
                    let truth = format!("!!({condition})");
                    let reply = evaluate(&self.client, &top.call_frame_id, &truth, &Budget::default()).await;
                    reply.value.is_some_and(|v| v.value == "true")
                }
            };
            if holds {
                hit.push(v8_id);
            }
        }
        if hit.is_empty() {
            return None;
        }
        match self.breakpoints.lock().ok()?.count(&hit) {
            super::breakpoints::HitDecision::Stop(hit) => Some(StopReason::Breakpoint { hit }),
            super::breakpoints::HitDecision::Resume => None,
        }
    }

}
