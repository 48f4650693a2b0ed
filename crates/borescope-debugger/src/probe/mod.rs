//! `borescope probe`: run a program until a line runs, report, end the program.
//!
//! This module checks the request (locations, command) and dispatches by language: Python
//! probes use the embedded agent ([`python`]), Node probes use the Chrome DevTools Protocol.
//! Both produce the same [`ProbeReport`].

mod convert;
mod explain;
mod python;

pub(crate) use explain::ran_the_file_itself;
pub(crate) use python::agent_env;

use crate::command::language_of_file;
use crate::error::LocationProblem;
use crate::locate::resolve_location;
use crate::process::StdinMode;
use crate::DebuggerError;
use borescope_model::{Budget, Language, Location, ProbeReport};
use std::path::{Path, PathBuf};
use std::time::Duration;



/// What to probe and how.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    /// Locations as the user wrote them.
    pub locations: Vec<Location>,
    /// The command after `--` (empty: run the first location's file).
    pub command: Vec<String>,
    /// Forced language.
    pub language: Option<Language>,
    /// Stop only when this expression is true in the frame.
    pub condition: Option<String>,
    /// Stop on the Nth time (per location).
    pub hit: Option<u32>,
    /// Collect this many hits without stopping, then end.
    pub hits: Option<u32>,
    /// Expressions evaluated in the frame at each hit.
    pub evals: Vec<String>,
    /// Time limit.
    pub timeout: Duration,
    /// Interpreter replacing the command's.
    pub python: Option<PathBuf>,
    /// Working directory for the program.
    pub cwd: Option<PathBuf>,
    /// Base for relative locations (default: our working directory).
    pub location_base: Option<PathBuf>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Output budgets.
    pub budget: Budget,
    /// How stdin is connected.
    pub stdin: StdinMode,
}

/// A request with its locations and command checked.
#[derive(Debug, Clone)]
pub(crate) struct CheckedProbe {
    pub request: ProbeRequest,
    pub locations: Vec<Location>,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
}

/// Runs a probe to its end.
pub async fn probe(request: ProbeRequest, cache_dir: &Path) -> Result<ProbeReport, DebuggerError> {
    let (checked, language) = check(request)?;
    match language {
        Language::Python => python::run(checked, cache_dir).await,
        Language::Node => crate::node::probe(checked).await,
    }
}

/// Resolves the working directory, every location and the command.
pub(crate) fn check(request: ProbeRequest) -> Result<(CheckedProbe, Language), DebuggerError> {
    if request.locations.is_empty() {
        return Err(DebuggerError::BadCommand("give at least one FILE:LINE".into()));
    }
    let cwd = working_dir(request.cwd.as_deref())?;
    let here = match &request.location_base {
        Some(base) => base.clone(),
        None => working_dir(None)?,
    };
    let hint = request
        .language
        .or_else(|| request.locations.first().and_then(|l| language_of_file(Path::new(&l.file))));
    let mut problems: Vec<LocationProblem> = Vec::new();
    let mut locations = Vec::new();
    for location in &request.locations {
        match resolve_location(location, &here, hint) {
            Ok(resolved) => {
                if !locations.contains(&resolved) {
                    locations.push(resolved);
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(DebuggerError::BadLocation(problems));
    }
    let default_file = locations.first().map(|l| PathBuf::from(&l.file));
    let program = crate::preflight::resolve_startable(
        &request.command,
        default_file.as_deref(),
        request.python.as_deref(),
        request.language,
        &cwd,
        crate::preflight::path_of(None, &request.env).as_deref(),
    )?;
    if matches!(request.hit, Some(0)) || matches!(request.hits, Some(0)) {
        return Err(DebuggerError::BadCommand("--hit and --hits count from 1".into()));
    }
    if request.hit.is_some() && request.hits.is_some() {
        return Err(DebuggerError::BadCommand(
            "use either --hit N (stop at the Nth) or --hits N (collect N), not both".into(),
        ));
    }
    Ok((
        CheckedProbe {
            request,
            locations,
            argv: program.argv,
            cwd,
        },
        program.language,
    ))
}

/// The program's working directory: `--cwd` (relative to ours) or ours.
pub fn working_dir(cwd: Option<&Path>) -> Result<PathBuf, DebuggerError> {
    let here = std::env::current_dir().map_err(DebuggerError::io("reading the current directory"))?;
    match cwd {
        None => Ok(here),
        Some(dir) => {
            let dir = here.join(dir);
            if !dir.is_dir() {
                return Err(DebuggerError::BadCommand(format!(
                    "--cwd `{}` is not a directory",
                    dir.display()
                )));
            }
            Ok(dir)
        }
    }
}

/// `TypeError: message at file:line`, for notices about thread deaths.
pub(crate) fn explain_exception(stop: &borescope_model::Stop) -> String {
    match &stop.reason {
        borescope_model::StopReason::Exception(info) => {
            let place = stop
                .location
                .as_ref()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            format!("{}: {}{place}", info.type_name, info.message)
        }
        _ => "exception".into(),
    }
}
