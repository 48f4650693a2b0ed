//! Why an attach, an exec or a detach did not work. Messages end in the fix (`hint:` lines).

use borescope_inject::InjectError;

/// Attach failures.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Finding or writing into the process failed (permissions, version, disabled).
    #[error(transparent)]
    Inject(#[from] InjectError),
    /// The chosen thread never picked the job up: what it is doing instead.
    #[error("{0}")]
    Blocked(String),
    /// The job was picked up but did not finish in time.
    #[error("the code borescope injected into pid {pid} is still running after {seconds:.0}s in thread `{thread}`; it will finish on its own and its result will be discarded")]
    StillRunning {
        /// The pid.
        pid: u32,
        /// How long borescope waited.
        seconds: f64,
        /// Where it runs.
        thread: String,
    },
    /// The program has no debugpy and none could be shipped in.
    #[error("pid {pid} (`{executable}`) cannot import debugpy, and borescope could not provide a copy: {why}\nhint: install it where that interpreter finds it (`{executable} -m pip install debugpy`) and attach again")]
    NoDebugpy {
        /// The pid.
        pid: u32,
        /// The target's `sys.executable`.
        executable: String,
        /// Why borescope's copy could not be used.
        why: String,
    },
    /// The injected job ran and reported a failure.
    #[error("borescope's code in pid {pid} failed: {error}")]
    JobFailed {
        /// The pid.
        pid: u32,
        /// The error (with traceback lines indented).
        error: String,
    },
    /// No directory in the target's view could take borescope's files.
    #[error("cannot place borescope's files where pid {pid} can read them (tried {tried}): {why}\nhint: the process needs a writable /tmp, /dev/shm or $TMPDIR")]
    NoPlace {
        /// The pid.
        pid: u32,
        /// Directories tried, in the target's view.
        tried: String,
        /// The last error.
        why: String,
    },
    /// `--thread` asked of a Python whose injected code only the main thread runs.
    #[error("pid {pid} runs Python {version}: borescope's code runs there as a pending call, which CPython runs only in the main thread, so `--thread {tid}` cannot be honoured (choosing a thread needs Python 3.14, PEP 768)\nhint: leave out `--thread`, and attach while the main thread runs Python")]
    MainThreadOnly {
        /// The pid.
        pid: u32,
        /// Its version.
        version: borescope_inject::PythonVersion,
        /// The thread asked for.
        tid: u64,
    },
    /// The pid is not the process that runs the application.
    #[error("{0}")]
    WrongProcess(String),
    /// Connecting to debugpy failed.
    #[error("cannot connect to debugpy in pid {pid}: {why}")]
    Connect {
        /// The pid.
        pid: u32,
        /// Why.
        why: String,
    },
    /// A local file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl AttachError {
    /// An I/O error with context.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AttachError {
        let context = context.into();
        move |source| AttachError::Io { context, source }
    }

    /// True when the user's request (or their system's policy) is the problem, not borescope.
    pub fn is_input_error(&self) -> bool {
        match self {
            AttachError::Inject(e) => e.is_input_error(),
            AttachError::WrongProcess(_) | AttachError::MainThreadOnly { .. } => true,
            _ => false,
        }
    }
}
