//! The local side shared by `lambda attach` and `lambda invoke`: the private directory holding
//! the worker's socket, the worker's command line and environment (as a session's program or
//! a plain child process), and the session request that runs it under the debugger.

use crate::failure::Failure;
use crate::settings;
use borescope_cli::Cli;
use borescope_ipc::{Request, StartRequest, StdinSource};
use borescope_model::{BreakpointSpec, ExceptionMode};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The variable naming the worker's socket.
pub const WORKER_SOCKET: &str = "BORESCOPE_LAMBDA_WORKER_SOCKET";
/// The variable naming the local code directory.
pub const WORKER_CODE: &str = "BORESCOPE_LAMBDA_CODE";
/// The variable asking the worker to listen with debugpy (`lambda attach --listen`).
pub const WORKER_LISTEN: &str = "BORESCOPE_LAMBDA_LISTEN";

/// A private (0700) directory for the worker's socket, removed on drop.
pub fn private_dir() -> Result<tempfile::TempDir, Failure> {
    let base = borescope_static::runtime_dir();
    std::fs::create_dir_all(&base).map_err(|e| Failure::failed(format!("cannot create {}: {e}", base.display())))?;
    let _ = std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700));
    tempfile::Builder::new()
        .prefix("lambda-")
        .tempdir_in(&base)
        .map_err(|e| Failure::failed(format!("cannot create a private directory in {}: {e}", base.display())))
}

/// The interpreter that runs handlers: `--python`, else `python3` on PATH.
pub fn python(choice: Option<&Path>) -> PathBuf {
    choice.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("python3"))
}

/// The worker's command line as a session's program (the session's job makes the agent
/// package importable).
pub fn worker_command(python: &Path) -> Vec<String> {
    vec![python.display().to_string(), "-m".into(), "borescope_agent.lambda_worker".into()]
}

/// The worker as a plain child process (not a session's program), with interpreter options
/// before the program: the agent directory goes on `sys.path` by hand, not through
/// `PYTHONPATH` (its `sitecustomize` would take it off again without a job). Its standard input
/// is closed and it dies with the command.
pub fn plain_worker(python: &Path, agent_dir: &Path, code: &Path, socket: &Path, python_flags: &[&str]) -> tokio::process::Command {
    let dir = agent_dir.display().to_string().replace('\\', "\\\\").replace('\'', "\\'");
    let mut command = tokio::process::Command::new(python);
    command
        .args(python_flags)
        .arg("-c")
        .arg(format!("import sys; sys.path.insert(0, '{dir}'); from borescope_agent.lambda_worker import main; sys.exit(main())"))
        .current_dir(code)
        .env(WORKER_SOCKET, socket)
        .env(WORKER_CODE, code)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// The code directory as an absolute path, checked.
pub fn code_dir(code: &Path) -> Result<PathBuf, Failure> {
    let absolute = std::path::absolute(code).map_err(|e| Failure::input(format!("bad --code {}: {e}", code.display())))?;
    if !absolute.is_dir() {
        return Err(Failure::input(format!("the code directory {} does not exist; pass --code DIR with the function's code", absolute.display())));
    }
    Ok(absolute)
}

/// What the worker session's `Start` carries.
pub struct WorkerSession<'a> {
    /// The session's name.
    pub session: &'a str,
    /// The interpreter.
    pub python: &'a Path,
    /// The worker's socket.
    pub socket: &'a Path,
    /// The local code directory.
    pub code: &'a Path,
    /// Breakpoints to set before anything runs.
    pub breakpoints: Vec<BreakpointSpec>,
    /// How long to wait for the first stop.
    pub timeout_ms: u64,
}

/// The daemon request that starts the worker as a session's program: running at once when
/// there are no breakpoints (invocations arrive later), else until the first stop.
pub fn start_request(cli: &Cli, worker: WorkerSession<'_>) -> Result<Request, Failure> {
    let run = worker.breakpoints.is_empty();
    Ok(Request::Start {
        session: worker.session.to_string(),
        spec: Box::new(StartRequest {
            command: worker_command(worker.python),
            cwd: worker.code.to_path_buf(),
            client_cwd: std::env::current_dir().map_err(|e| Failure::failed(format!("cannot read the current directory: {e}")))?,
            env: std::env::vars().collect(),
            overrides: vec![
                (WORKER_SOCKET.to_string(), worker.socket.display().to_string()),
                (WORKER_CODE.to_string(), worker.code.display().to_string()),
            ],
            python: None,
            language: None,
            breakpoints: worker.breakpoints,
            stop_on_entry: false,
            run,
            stdin: StdinSource::Pipe,
            exceptions: ExceptionMode::default(),
            provision_debugpy: true,
            timeout_ms: worker.timeout_ms,
            budget: settings::budget(&cli.budget),
        }),
    })
}

/// A `FILE:LINE` breakpoint from the command line.
pub fn breakpoint(text: &str) -> Result<BreakpointSpec, Failure> {
    let location = borescope_model::Location::parse(text).map_err(|e| Failure::input(e.to_string()))?;
    Ok(BreakpointSpec::at(location))
}
