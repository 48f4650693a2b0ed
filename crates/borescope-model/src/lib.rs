//! The data borescope passes between processes and prints as `--json`.
//!
//! Everything here is plain serde data: the Python agent's reports are decoded into these types,
//! the debugger backends (DAP, CDP) produce them, the daemon sends them over its socket, the
//! text formatter renders them and MCP returns them as structured content. One schema, whichever
//! front door is used.
//!
//! # Format
//!
//! JSON output is one object per command. Every top-level object carries a `schema` field naming
//! its shape and version (`borescope.probe/1`, `borescope.session/1`, ...). Field names are
//! `snake_case`; optional fields are omitted when empty. New fields may be added within a version;
//! renaming or removing one bumps the version. `docs/json.md` lists every field.
//!
//! This crate does no I/O.

#![deny(missing_docs)]

mod attach;
mod budget;
pub mod calendar;
mod kube;
mod location;
mod probe;
mod report;
mod session;
pub mod roles;
pub mod wording;

pub use attach::{
    AttachMethod, ExecReport, ListenReport, ProcessList, ProcessRole, PythonProcess, SnapAttachReport, EXEC_SCHEMA,
    LISTEN_SCHEMA, PS_SCHEMA, SNAP_ATTACH_SCHEMA,
};
pub use budget::Budget;
pub use kube::{FollowTarget, PodContainer, PodEntry, PodList, PodProcessRef, PODS_SCHEMA};
pub use location::{Location, LocationError};
pub use probe::{ProbeOutcome, ProbeReport, ThreadSnapshot, PROBE_SCHEMA};
pub use report::{
    EvalResult, ExceptionInfo, ExitInfo, Frame, FrameKind, Notice, OutputLine, OutputStream,
    OutputTail, SourceContext, StatementResult, Stop, StopReason, ThreadRef, Variable,
};
pub use session::{
    Answer, BreakpointInfo, BreakpointSpec, BreakpointState, Ending, ExceptionMode, Language, OtherBuild, OutputChunk,
    SessionInfo, SessionReport, SessionState, ThreadState, SESSION_SCHEMA,
};
