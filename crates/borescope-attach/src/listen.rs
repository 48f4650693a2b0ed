//! debugpy inside a running process: start it listening (shipping a copy in when the program
//! has none), connect to it, and take it all out again on detach.
//!
//! debugpy runs with its adapter in-process, on 127.0.0.1 *in the target's network
//! namespace*, on a port the OS picks, and (for sessions) requires an access token only
//! borescope knows. It never waits for a client, so the program keeps running. Detach stops
//! debugpy (`pydevd.stoptrace`), lets a later `debugpy.listen` work again, forgets a shipped
//! copy, and removes borescope's files.

use crate::files::InjectionDir;
use crate::job::{Injector, JobOptions};
use crate::{roles, AttachError, Target, ThreadChoice};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to start debugpy.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// The access token clients must present (`None`: none, for editors that cannot send one).
    pub token: Option<String>,
    /// Which thread runs the start-up job.
    pub thread: ThreadChoice,
    /// How long that thread may take to pick it up.
    pub pickup_timeout: Duration,
    /// After shipping debugpy, compile it for this interpreter in the background for the next
    /// attach ([`crate::bytecode`]); only for a process that outlives the compile (the daemon).
    pub cache_bytecode: bool,
}

/// debugpy listening inside a process.
#[derive(Debug, Clone)]
pub struct DebugpyListener {
    /// The process.
    pub target: Target,
    /// The port (in the target's network namespace).
    pub port: u16,
    /// The access token, if one is required.
    pub token: Option<String>,
    /// borescope's directory in the target (kept while attached).
    pub dir: InjectionDir,
    /// The target's Python version.
    pub python: String,
    /// The target's interpreter path (its `sys.executable`).
    pub executable: String,
    /// debugpy's version.
    pub debugpy: String,
    /// True when borescope shipped its own copy of debugpy in.
    pub shipped: bool,
    /// The target's working directory (its view).
    pub cwd: String,
    /// Its standard-library directories (its view), for telling frames apart.
    pub runtime_dirs: Vec<String>,
    /// Its main script (its view), if any.
    pub main: Option<String>,
    /// The Python thread that ran the start-up job.
    pub thread: String,
    /// The thread that was asked to run it (detach asks the same one).
    pub thread_choice: ThreadChoice,
}

/// Starts debugpy in `pid`. `debugpy_copy` is asked for a directory holding a `debugpy`
/// package only when the target cannot import one.
pub fn start_debugpy(
    pid: u32,
    options: &ListenOptions,
    debugpy_copy: &mut dyn FnMut() -> Result<PathBuf, String>,
) -> Result<DebugpyListener, AttachError> {
    roles::refuse_non_worker(pid)?;
    let injector = Injector::open(pid)?;
    let dir = injector.new_dir("attach")?;
    let job_options = JobOptions {
        thread: options.thread,
        pickup_timeout: options.pickup_timeout,
        run_timeout: Duration::from_secs(30),
        withdraw: true,
    };
    let job = |shipped: Option<&str>| json!({"kind": "listen", "token": options.token, "debugpy_path": shipped});
    let result = (|| {
        let mut status = injector.run(&dir, job(None), &job_options)?;
        let mut shipped = false;
        if status["state"] == "no_debugpy" {
            let executable = status["executable"].as_str().unwrap_or("python3").to_string();
            let source = debugpy_copy().map_err(|why| AttachError::NoDebugpy { pid, executable: executable.clone(), why })?;
            match crate::bytecode::cached(&source, &injector.target) {
                Some(compiled) => dir.copy_compiled_tree("lib/debugpy", &compiled.join("debugpy"))?,
                None => {
                    dir.copy_tree("lib/debugpy", &source.join("debugpy"), &not_needed_in_process)?;
                    if options.cache_bytecode {
                        crate::bytecode::compile_in_background(source.clone(), &injector.target, not_needed_in_process);
                    }
                }
            }
            let inside = dir.inside_path("lib");
            status = injector.run(&dir, job(Some(&inside)), &job_options)?;
            shipped = true;
        }
        if status["state"] != "listening" {
            return Err(AttachError::JobFailed { pid, error: format!("debugpy did not start: {status}") });
        }
        Ok((status, shipped))
    })();
    let (status, shipped) = match result {
        Ok(ok) => ok,
        Err(error) => {
            dir.remove();
            return Err(error);
        }
    };
    let text = |key: &str| status[key].as_str().unwrap_or_default().to_string();
    Ok(DebugpyListener {
        port: status["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        token: options.token.clone(),
        python: text("python"),
        executable: text("executable"),
        debugpy: text("debugpy"),
        shipped,
        cwd: text("cwd"),
        runtime_dirs: status["runtime_dirs"]
            .as_array()
            .map(|dirs| dirs.iter().filter_map(|d| d.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        main: status["main"].as_str().map(str::to_string),
        thread: text("thread"),
        thread_choice: options.thread,
        target: injector.target,
        dir,
    })
}

/// The parts of debugpy a process it is shipped into never loads.
fn not_needed_in_process(path: &Path) -> bool {
    !borescope_pyagent::jobs::debugpy_part_needed_in_process(path)
}

/// Connects to the listener, from inside the target's network namespace when it has its own.
pub fn connect(listener: &DebugpyListener, timeout: Duration) -> Result<std::net::TcpStream, AttachError> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], listener.port));
    let pid = listener.target.pid;
    let stream = if listener.target.same_network {
        std::net::TcpStream::connect_timeout(&address, timeout)
    } else {
        crate::netns::connect_in(pid, address, timeout)
    };
    let stream = stream.map_err(|e| AttachError::Connect { pid, why: crate::netns::explain(&listener.target, &e) })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// What detach did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detached {
    /// debugpy stopped and borescope's files are gone.
    Clean,
    /// The process ended first.
    Gone,
    /// The thread could not run the clean-up; it stays queued and runs when the thread wakes.
    Deferred(String),
}

/// Stops debugpy in the process of an earlier [`start_debugpy`] and removes borescope's files,
/// asking the thread that started it (the main thread when that one is gone).
pub fn stop_debugpy(
    pid: u32,
    start_time: u64,
    session_dir: &InjectionDir,
    thread: ThreadChoice,
    pickup_timeout: Duration,
) -> Detached {
    let injector = match Injector::open(pid) {
        Ok(injector) if injector.target.start_time == start_time => injector,
        _ => return Detached::Gone,
    };
    let dir = match injector.new_dir("detach") {
        Ok(dir) => dir,
        Err(error) => return Detached::Deferred(error.to_string()),
    };
    let thread = match thread {
        ThreadChoice::Native(tid)
            if injector.target.host_tid(tid).is_some_and(|t| Path::new(&format!("/proc/{pid}/task/{t}")).exists()) =>
        {
            thread
        }
        _ => ThreadChoice::Main,
    };
    let options = JobOptions {
        thread,
        pickup_timeout,
        run_timeout: Duration::from_secs(10),
        withdraw: false,
    };
    let job = json!({"kind": "detach", "remove": [session_dir.inside]});
    match injector.run(&dir, job, &options) {
        Ok(_) => {
            dir.remove();
            session_dir.remove();
            Detached::Clean
        }
        Err(AttachError::Inject(borescope_inject::InjectError::Exited { .. })) => Detached::Gone,
        // Still queued (or running): the job removes both directories itself when it runs.
        Err(error) => Detached::Deferred(error.to_string()),
    }
}

/// A VS Code `launch.json` attach configuration for an editor on this machine.
pub fn launch_json(listener: &DebugpyListener, local_root: &Path) -> Value {
    let mut config = json!({
        "name": format!("borescope: attach to pid {}", listener.target.pid),
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": listener.port},
        "justMyCode": true,
    });
    if !listener.target.same_filesystem && !listener.cwd.is_empty() {
        config["pathMappings"] = json!([{"localRoot": local_root.display().to_string(), "remoteRoot": listener.cwd}]);
    }
    config
}
