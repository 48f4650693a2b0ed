//! Why reaching into a process failed. Every variant says what to do about it in its message;
//! permission failures carry the diagnosis from [`crate::permission`].

use crate::offsets::PythonVersion;

/// Errors from inspecting or injecting into a process.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// No process has this pid (or it exited).
    #[error("no process with pid {pid} (it may have exited)")]
    NoSuchProcess {
        /// The pid.
        pid: u32,
    },
    /// The process ended while borescope was working on it.
    #[error("pid {pid} exited during attach")]
    Exited {
        /// The pid.
        pid: u32,
    },
    /// Access was refused; `diagnosis` says why and how to fix it.
    #[error("cannot {operation} pid {pid}: {diagnosis}")]
    Permission {
        /// The pid.
        pid: u32,
        /// What borescope tried (`read the memory of`, `write to the memory of`, ...).
        operation: String,
        /// Why the kernel refused, with the fix.
        diagnosis: String,
    },
    /// The process has no CPython runtime borescope can find.
    #[error("pid {pid} does not look like a CPython process: {why}")]
    NotPython {
        /// The pid.
        pid: u32,
        /// What was looked for.
        why: String,
    },
    /// The interpreter is too old (or too new) for borescope to run code in it.
    #[error("pid {pid} runs Python {version}, which borescope cannot attach to{hint}")]
    Unsupported {
        /// The pid.
        pid: u32,
        /// Its version.
        version: PythonVersion,
        /// What the user can do instead (starts with a newline and `hint:`).
        hint: String,
    },
    /// The operator disabled remote debugging; borescope respects that.
    #[error("remote debugging is disabled in pid {pid} ({how}); borescope respects that and will not attach\nhint: restart the program without it, or start it under borescope: `borescope start -- COMMAND`")]
    Disabled {
        /// The pid.
        pid: u32,
        /// How it was disabled.
        how: String,
    },
    /// The debug offsets table is not what it should be.
    #[error("pid {pid}: {what}")]
    BadLayout {
        /// The pid.
        pid: u32,
        /// What is wrong.
        what: String,
    },
    /// The script path does not fit CPython's 512-byte buffer.
    #[error("the script path `{path}` is {len} bytes; CPython accepts at most 511")]
    PathTooLong {
        /// The path.
        path: String,
        /// Its length.
        len: usize,
    },
    /// Another tracer (a debugger, `strace`) holds the process; ptrace allows one at a time.
    #[error("pid {pid} is already being traced by {tracer}, and a process can have only one tracer\nhint: detach that tracer (quit the debugger or strace), then attach again")]
    Traced {
        /// The pid.
        pid: u32,
        /// `pid N (`comm`)` of the tracer.
        tracer: String,
    },
    /// The process is stopped by a signal; scheduling code would have to resume it.
    #[error("pid {pid} is stopped (SIGSTOP or Ctrl-Z), and borescope would have to resume it to schedule its code\nhint: resume it (`kill -CONT {pid}`, or `fg` in its shell), then attach again")]
    Stopped {
        /// The pid.
        pid: u32,
    },
    /// The interpreter does not export the functions borescope calls (stripped or static).
    #[error("pid {pid}'s Python (`{binary}`) does not export {missing}, so borescope cannot schedule code in it safely (a stripped or statically linked interpreter without its dynamic symbols)\nhint: use an interpreter that exports its C API (distribution packages, pyenv, uv and python.org builds do), or start the program under borescope: `borescope start -- COMMAND`")]
    NoSymbols {
        /// The pid.
        pid: u32,
        /// The interpreter binary or libpython it maps.
        binary: String,
        /// The functions it lacks.
        missing: String,
    },
    /// borescope cannot inject into processes of this machine's architecture.
    #[error("pid {pid} runs Python {version}, which borescope can only reach with ptrace, and this build of borescope does that on x86-64 and aarch64 only (this machine is {arch})\nhint: run the program on Python 3.14 (PEP 768 works everywhere), or start it under borescope: `borescope start -- COMMAND`")]
    UnsupportedArch {
        /// The pid.
        pid: u32,
        /// Its version.
        version: PythonVersion,
        /// This machine's architecture.
        arch: &'static str,
    },
    /// Scheduling borescope's code in an older Python failed midway; the process was restored.
    #[error("could not schedule borescope's code in pid {pid}: {what}")]
    Injection {
        /// The pid.
        pid: u32,
        /// What went wrong, and what was done about it.
        what: String,
    },
    /// A file or `/proc` entry could not be read.
    #[error("{context}: {source}")]
    Io {
        /// What was being read.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl InjectError {
    /// True for errors that are the user's to fix (wrong pid, old Python, disabled, denied),
    /// as opposed to borescope failing.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            InjectError::NoSuchProcess { .. }
                | InjectError::NotPython { .. }
                | InjectError::Unsupported { .. }
                | InjectError::Disabled { .. }
                | InjectError::PathTooLong { .. }
                | InjectError::Traced { .. }
                | InjectError::Stopped { .. }
                | InjectError::NoSymbols { .. }
                | InjectError::UnsupportedArch { .. }
        )
    }
}
