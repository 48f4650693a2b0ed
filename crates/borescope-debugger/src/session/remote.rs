//! Sessions on a debug server that is already listening, reached by address
//! (`borescope attach HOST:PORT`): debugpy started by the user (`python -m debugpy --listen`,
//! `debugpy.listen()`), on this machine, in a container or on another one, or a Node program
//! started with `--inspect` (see the Node backend).
//!
//! What differs from a process attached by pid: borescope started nothing inside it and knows
//! no pid (the program may be on another machine), so its end is learned from the debugger
//! (debugpy's `terminated` event); there is no token (debugpy's adapter takes the `attach` request
//! as it comes); files may live elsewhere, which `--path-map` pairs and debugpy translates
//! both ways (`pathMappings`), so reports show local paths. `stop` disconnects and leaves the
//! program running.

use super::address::{identify, Address, Listener};
use super::breakpoints::BreakpointTable;
use super::core::SessionCore;
use super::paths::{PathMap, PathMappings};
use super::python::PythonSession;
use super::python_dap::{attach_arguments, configure, pump_events};
use super::Session;
use crate::frames::FrameClassifier;
use crate::locate::{resolve_spec, resolve_specs};
use crate::node::NodeSession;
use crate::output::OutputBuffer;
use crate::DebuggerError;
use borescope_dap::codec::read_frame;
use borescope_dap::requests as dap;
use borescope_dap::DapClient;
use borescope_model::{Budget, BreakpointSpec, ExceptionMode, Language, Notice, SessionReport};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

/// How long a silent server may take to answer `initialize`.
const INITIALIZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A debug server to connect to, and how.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    /// Where it listens.
    pub address: Address,
    /// Local directories versus the program's (`--path-map LOCAL=REMOTE`).
    pub paths: PathMappings,
    /// Breakpoints to set at once (local paths).
    pub breakpoints: Vec<BreakpointSpec>,
    /// Base for relative breakpoint paths.
    pub location_base: PathBuf,
    /// Which exceptions stop the program.
    pub exceptions: ExceptionMode,
    /// Budget for the first report.
    pub budget: Budget,
}

impl ConnectSpec {
    /// What `sessions` shows as the session's command.
    pub(crate) fn command(&self) -> Vec<String> {
        vec!["attach".into(), self.address.to_string()]
    }
}

impl Session {
    /// Connects to the debug server at `spec.address` (debugpy or Node's inspector, told apart
    /// by probing) and sets the breakpoints; the program keeps running.
    pub async fn connect(name: &str, spec: ConnectSpec) -> Result<(Session, SessionReport), DebuggerError> {
        // Bad input is refused before the server is touched (the language, unknown until the
        // probe, is told from each file's name).
        let problems: Vec<_> = spec
            .breakpoints
            .iter()
            .filter_map(|bp| resolve_spec(bp, &spec.location_base, None).err())
            .collect();
        if !problems.is_empty() {
            return Err(DebuggerError::BadLocation(problems));
        }
        let listener = identify(&spec.address).await?;
        let (session, mut report, what) = match listener {
            Listener::Node { ws_url } => {
                let (session, report) = NodeSession::connect(name, &ws_url, &spec).await?;
                (Session::Node(Box::new(session)), report, "Node's inspector")
            }
            Listener::Dap { stream, initialized } => {
                let (session, report) = PythonSession::connect(name, &spec, stream, initialized).await?;
                (Session::Python(Box::new(session)), report, "debugpy")
            }
        };
        report.notices.push(super::attached::attached_notice(&format!("{what} at {}", spec.address), !spec.breakpoints.is_empty()));
        if !super::address::is_loopback(&spec.address).await {
            report.notices.push(unencrypted(&spec.address));
        }
        Ok((session, report))
    }
}

/// The notice for a connection that leaves this machine (DAP and CDP have no encryption).
fn unencrypted(address: &Address) -> Notice {
    Notice::with_hint(
        format!("the connection to {address} is not encrypted: source, values and the expressions you evaluate cross the network in clear text"),
        "use it only on a network you trust, or tunnel the port (e.g. `ssh -L PORT:localhost:PORT HOST`) and attach to 127.0.0.1",
    )
}

impl PythonSession {
    /// Connects the session to debugpy over `stream`: its adapter (`--listen`), or its
    /// in-process server, to which the probe already sent `initialize` (`initialized`).
    async fn connect(name: &str, spec: &ConnectSpec, stream: TcpStream, initialized: bool) -> Result<(PythonSession, SessionReport), DebuggerError> {
        let mut table = BreakpointTable::default();
        for bp in resolve_specs(&spec.breakpoints, &spec.location_base, Some(Language::Python))? {
            table.set(bp);
        }
        let (reader, writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        if initialized {
            tokio::time::timeout(INITIALIZE_TIMEOUT, skip_initialize_answer(&mut reader))
                .await
                .map_err(|_| initialize_timeout(&spec.address))??;
        }
        let (client, mut events) = DapClient::new(reader, writer);
        let client = Arc::new(client);
        if !initialized {
            let initialize = client.request::<dap::Initialize>(dap::InitializeArguments::borescope("debugpy"));
            tokio::time::timeout(INITIALIZE_TIMEOUT, initialize).await.map_err(|_| initialize_timeout(&spec.address))??;
        }
        let mut arguments = attach_arguments(true);
        if !spec.paths.is_empty() {
            let mappings: Vec<_> = spec.paths.pairs().iter().map(|(local, remote)| json!({"localRoot": local, "remoteRoot": remote})).collect();
            arguments["pathMappings"] = json!(mappings);
        }
        let early = configure(&client, &mut events, arguments, &mut table, &PathMap::same(), spec.exceptions)
            .await
            .map_err(|e| already_debugged(e, &spec.address))?;
        let core = SessionCore::new(name, Language::Python, spec.command(), 0, OutputBuffer::new()).into_remote();
        tokio::spawn(pump_events(events, early, core.state.clone(), core.output.clone(), true));
        let session = PythonSession::assemble(core, client, FrameClassifier::default(), PathMap::same(), table);
        let report = session.report_now(&spec.budget).await?;
        Ok((session, report))
    }
}

/// Reads up to the answer to the `initialize` the probe sent (what came before it is debugpy
/// greeting: telemetry).
async fn skip_initialize_answer(reader: &mut BufReader<OwnedReadHalf>) -> Result<(), DebuggerError> {
    loop {
        let body = read_frame(reader)
            .await?
            .ok_or_else(|| DebuggerError::Protocol("debugpy closed the connection during start-up".into()))?;
        let message: serde_json::Value = serde_json::from_slice(&body).map_err(|e| DebuggerError::Protocol(e.to_string()))?;
        if message.get("type").and_then(|t| t.as_str()) == Some("response") {
            if message.get("success").and_then(|s| s.as_bool()) != Some(true) {
                let why = message.get("message").and_then(|m| m.as_str()).unwrap_or("no reason given");
                return Err(DebuggerError::Protocol(format!("debugpy refused `initialize`: {why}")));
            }
            return Ok(());
        }
    }
}

fn initialize_timeout(address: &Address) -> DebuggerError {
    DebuggerError::Timeout(format!("debugpy at {address} did not answer `initialize` within {}s", INITIALIZE_TIMEOUT.as_secs()))
}

/// The error for a debugpy that refuses `attach` because another client is attached.
fn already_debugged(error: DebuggerError, address: &Address) -> DebuggerError {
    match &error {
        DebuggerError::Dap(borescope_dap::DapError::Failed { message, .. }) if message.contains("already being debugged") => {
            DebuggerError::State(format!(
                "the debugpy at {address} already has a client (an editor, or another borescope session)\n\
                 hint: disconnect that client first (`borescope sessions` lists borescope's own), then attach again"
            ))
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::address::is_loopback;

    #[tokio::test]
    async fn connections_off_this_machine_are_called_unencrypted() {
        for (text, local) in [("127.0.0.1:5678", true), ("[::1]:9229", true), ("192.0.2.7:5678", false), ("[2001:db8::1]:9229", false)] {
            let address = Address::parse(text).unwrap();
            assert_eq!(is_loopback(&address).await, local, "{text}");
        }
        let notice = unencrypted(&Address::parse("192.0.2.7:5678").unwrap());
        assert!(notice.message.contains("192.0.2.7:5678 is not encrypted"), "{}", notice.message);
    }
}
