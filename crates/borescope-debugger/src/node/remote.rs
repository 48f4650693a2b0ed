//! Node sessions on a program started by someone else with `--inspect` (or `--inspect-brk`),
//! reached by address: the same commands as a program borescope started, without its process
//! (the program may be on another machine). The end of the inspector connection is the end of
//! the program; `stop` detaches: V8 drops this client's breakpoints and the program runs on.

use super::breakpoints::{send, NodeBreakpoints};
use super::session::{enable_debugger, NodeSession};
use crate::locate::resolve_specs;
use crate::output::OutputBuffer;
use crate::source::{context_from_text, source_context};
use crate::session::{ConnectSpec, RunState, SessionCore};
use crate::DebuggerError;
use borescope_cdp::commands as cdp;
use borescope_cdp::events::Paused;
use borescope_cdp::CdpClient;
use borescope_model::{Answer, Language, SessionReport, Stop, StopReason};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long the inspector's WebSocket may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl NodeSession {
    /// Connects to the inspector at `ws_url`, sets the breakpoints, and lets a program held by
    /// its own `--inspect-brk` run.
    pub(crate) async fn connect(name: &str, ws_url: &str, spec: &ConnectSpec) -> Result<(NodeSession, SessionReport), DebuggerError> {
        let breakpoints = resolve_specs(&spec.breakpoints, &spec.location_base, Some(Language::Node))?;
        let (client, events) = tokio::time::timeout(CONNECT_TIMEOUT, CdpClient::connect(ws_url))
            .await
            .map_err(|_| DebuggerError::Timeout(format!("Node's inspector at {} did not open its WebSocket within {}s", spec.address, CONNECT_TIMEOUT.as_secs())))??;
        let client = Arc::new(client);
        enable_debugger(&client, spec.exceptions).await?;
        let mut table = NodeBreakpoints { paths: spec.paths.clone(), ..NodeBreakpoints::default() };
        for bp in breakpoints {
            let id = table.table.set(bp.clone());
            let (v8_id, state) = send(&client, &table.wire(&bp)).await?;
            table.v8_ids.insert(id, v8_id);
            table.table.set_state(id, state);
        }
        let core = SessionCore::new(name, Language::Node, spec.command(), 0, OutputBuffer::new()).into_remote();
        let session = NodeSession::assemble(core, client.clone(), table);
        let (started, _) = watch::channel(false);
        session.spawn_pump(events, false, false, started, Some(session.core.output.clone()));
        client.call::<cdp::RunIfWaitingForDebugger>(cdp::NoParams {}).await?;
        let report = session.report_now(&spec.budget).await?;
        Ok((session, report))
    }

    /// Shows a stop of a program reached by address in local terms: its files through the
    /// path mappings, and its source from V8 when this machine has no copy of the file.
    pub(super) async fn localize(&self, stop: &mut Stop, paused: &Paused) {
        let paths = self.lock_breakpoints().map(|b| b.paths.clone()).unwrap_or_default();
        if !paths.is_empty() {
            for frame in &mut stop.stack {
                frame.file = frame.file.take().map(|f| paths.to_local(&f));
            }
            if let Some(location) = &mut stop.location {
                location.file = paths.to_local(&location.file);
            }
            if let Some(exception) = match &mut stop.reason {
                StopReason::Exception(info) => info.raised_at.as_mut(),
                _ => None,
            } {
                exception.file = paths.to_local(&exception.file);
            }
            stop.source = stop.location.as_ref().and_then(|l| source_context(&l.file, l.line));
        }
        if stop.source.is_none()
            && let (Some(location), Some(frame)) = (&stop.location, paused.call_frames.first())
        {
            let script = cdp::ScriptId { script_id: frame.location.script_id.clone() };
            if let Ok(text) = self.client.call::<cdp::GetScriptSource>(script).await {
                stop.source = context_from_text(&text.script_source, location.line);
            }
        }
    }

    /// Ends the connection and leaves the program running: `Debugger.disable` removes this
    /// client's breakpoints and ends a pause, then the WebSocket closes.
    pub(super) async fn detach(&self) -> Answer {
        let ended_before = match self.core.snapshot().run {
            RunState::Exited(exit) => Some(exit),
            _ => None,
        };
        let disable = self.client.call::<cdp::DebuggerDisable>(cdp::NoParams {});
        if let Ok(Err(error)) = tokio::time::timeout(Duration::from_secs(5), disable).await {
            tracing::debug!(%error, "Debugger.disable");
        }
        self.client.close().await;
        match ended_before {
            Some(exit) => self.core.ended(Some(exit), false),
            None => self.core.ended(None, true),
        }
    }
}
