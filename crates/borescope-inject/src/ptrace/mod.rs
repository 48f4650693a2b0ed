//! Borrowing one thread of another process for a moment with `ptrace`, and giving it back
//! exactly as it was.
//!
//! [`Seized::stop`] attaches with `PTRACE_SEIZE` (no `SIGSTOP`, nothing the program can see)
//! and stops the thread with `PTRACE_INTERRUPT`; it saves every general register and the bytes
//! at the address where borescope's stub goes. [`Seized::syscall`] and [`Seized::call`] make
//! the thread run one system call or one C function and come back to a trap. [`Seized::release`]
//! puts the bytes and registers back — including the kernel's system-call state, so a thread
//! that was stopped inside `clock_nanosleep` or `recv` goes back into it as if nothing happened —
//! and detaches, re-delivering any signal that arrived meanwhile. Dropping a `Seized` does the
//! same, so no error path leaves the thread stopped or altered.
//!
//! The architecture-specific parts (registers, the stub, the calling convention and system-call
//! restart) are in `x86_64` and `aarch64`.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
use aarch64 as arch;
#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
use x86_64 as arch;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// True when this build can inject into processes of its own architecture.
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// Why borrowing the thread failed.
#[derive(Debug, thiserror::Error)]
pub enum PtraceError {
    /// The kernel refused (`EPERM`): the caller lacks the right to trace this process.
    #[error("ptrace refused: {0}")]
    Refused(Errno),
    /// The thread is gone.
    #[error("the thread exited")]
    Gone,
    /// The thread did not come back to the trap in time.
    #[error("{what} did not return within {seconds:.1}s")]
    Timeout {
        /// What was running.
        what: String,
        /// How long borescope waited.
        seconds: f64,
    },
    /// It stopped somewhere unexpected (a crash in the called code, say).
    #[error("{0}")]
    Unexpected(String),
    /// A ptrace request failed.
    #[error("{request}: {errno}")]
    Request {
        /// Which request.
        request: &'static str,
        /// The error.
        errno: Errno,
    },
}

impl PtraceError {
    fn request(request: &'static str) -> impl FnOnce(Errno) -> PtraceError {
        move |errno| match errno {
            Errno::ESRCH => PtraceError::Gone,
            errno => PtraceError::Request { request, errno },
        }
    }
}

/// One thread, stopped and borrowed; given back on [`Seized::release`] or drop.
pub struct Seized {
    tid: Pid,
    saved: arch::Registers,
    /// Where the stub is written, and the word it replaced.
    stub_at: u64,
    original_word: Option<i64>,
    /// Signals that arrived for the program while we held the thread, to deliver on release.
    deferred: Vec<Signal>,
    released: bool,
}

impl Seized {
    /// Seizes and stops thread `tid`, waiting at most `timeout` for it to stop. `stub_at` is
    /// executable memory that never runs again (the program's entry point), where the stub and
    /// the return trap go.
    pub fn stop(tid: u32, stub_at: u64, timeout: Duration) -> Result<Seized, PtraceError> {
        let tid = Pid::from_raw(tid as i32);
        ptrace::seize(tid, ptrace::Options::empty()).map_err(|errno| match errno {
            Errno::EPERM => PtraceError::Refused(errno),
            errno => PtraceError::request("PTRACE_SEIZE")(errno),
        })?;
        let mut deferred = Vec::new();
        let stopped = ptrace::interrupt(tid)
            .map_err(PtraceError::request("PTRACE_INTERRUPT"))
            .and_then(|()| wait_for_stop(tid, timeout, &mut deferred, "stopping the thread"));
        if let Err(error) = stopped {
            let _ = ptrace::detach(tid, None);
            return Err(error);
        }
        let saved = match arch::Registers::read_saved(tid) {
            Ok(saved) => saved,
            Err(errno) => {
                let _ = ptrace::detach(tid, None);
                return Err(PtraceError::request("PTRACE_GETREGSET")(errno));
            }
        };
        tracing::debug!(tid = tid.as_raw(), pc = format_args!("{:#x}", saved.pc()), in_syscall = saved.in_syscall(), "thread stopped");
        Ok(Seized { tid, saved, stub_at, original_word: None, deferred, released: false })
    }

    /// Where the thread was stopped.
    pub fn stopped_at(&self) -> u64 {
        self.saved.pc()
    }

    /// Runs system call `number` with `args` in the thread; returns its raw result (a negative
    /// errno on failure).
    pub fn syscall(&mut self, number: u64, args: &[u64], timeout: Duration) -> Result<i64, PtraceError> {
        self.write_stub()?;
        let regs = self.saved.for_syscall(self.stub_at, number, args);
        self.run(regs, timeout, "the system call").map(|regs| regs.result() as i64)
    }

    /// Calls the C function at `function` with integer/pointer `args` (at most 6) on the
    /// thread's own stack, below anything it uses (past x86-64's 128-byte red zone: memory the
    /// ABI leaves free for signal handlers, which is what the call uses); returns the integer
    /// result.
    pub fn call(&mut self, function: u64, args: &[u64], timeout: Duration) -> Result<u64, PtraceError> {
        self.write_stub()?;
        let regs = self.saved.for_call(function, args, self.stub_at + arch::TRAP_OFFSET);
        let return_address = self.stub_at + arch::TRAP_OFFSET;
        if let Some((at, word)) = regs.return_slot(return_address) {
            ptrace::write(self.tid, at as ptrace::AddressType, word).map_err(PtraceError::request("PTRACE_POKEDATA"))?;
        }
        self.run(regs, timeout, "the call").map(|regs| regs.result())
    }

    /// Puts everything back and detaches.
    pub fn release(mut self) -> Result<(), PtraceError> {
        self.restore()
    }

    fn write_stub(&mut self) -> Result<(), PtraceError> {
        if self.original_word.is_some() {
            return Ok(());
        }
        let address = self.stub_at as ptrace::AddressType;
        let original = ptrace::read(self.tid, address).map_err(PtraceError::request("PTRACE_PEEKDATA"))?;
        let stub = arch::stub_word(original);
        ptrace::write(self.tid, address, stub).map_err(PtraceError::request("PTRACE_POKEDATA"))?;
        self.original_word = Some(original);
        Ok(())
    }

    /// Sets `regs`, lets the thread run until it reaches the trap, and returns its registers
    /// there.
    fn run(&mut self, regs: arch::Registers, timeout: Duration, what: &str) -> Result<arch::Registers, PtraceError> {
        regs.write(self.tid).map_err(PtraceError::request("PTRACE_SETREGSET"))?;
        ptrace::cont(self.tid, None).map_err(PtraceError::request("PTRACE_CONT"))?;
        let trap = self.stub_at + arch::TRAP_OFFSET;
        let started = Instant::now();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            match wait_for_signal(self.tid, left)? {
                Some(Signal::SIGTRAP) => {
                    let now = arch::Registers::read(self.tid).map_err(PtraceError::request("PTRACE_GETREGSET"))?;
                    if now.trapped_at(trap) {
                        return Ok(now);
                    }
                    return Err(PtraceError::Unexpected(format!(
                        "{what} stopped with SIGTRAP at {:#x}, not at borescope's trap",
                        now.pc()
                    )));
                }
                Some(signal @ (Signal::SIGSEGV | Signal::SIGBUS | Signal::SIGILL | Signal::SIGFPE)) => {
                    return Err(PtraceError::Unexpected(format!("{what} faulted ({signal}); the program was restored untouched")));
                }
                Some(signal) => {
                    // A signal for the program (a timer, a child exiting, Ctrl-C): keep it for later.
                    tracing::debug!(%signal, "deferring a signal that arrived during the injection");
                    if !self.deferred.contains(&signal) {
                        self.deferred.push(signal);
                    }
                    ptrace::cont(self.tid, None).map_err(PtraceError::request("PTRACE_CONT"))?;
                }
                None => {
                    // Timed out: take the thread back before restoring it.
                    let _ = ptrace::interrupt(self.tid);
                    let _ = wait_for_stop(self.tid, Duration::from_secs(1), &mut self.deferred, what);
                    return Err(PtraceError::Timeout { what: what.to_string(), seconds: timeout.as_secs_f64() });
                }
            }
        }
    }

    fn restore(&mut self) -> Result<(), PtraceError> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        let mut first_error = None;
        if let Some(Err(errno)) = self.original_word.take().map(|word| ptrace::write(self.tid, self.stub_at as ptrace::AddressType, word)) {
            first_error.get_or_insert(PtraceError::request("PTRACE_POKEDATA")(errno));
        }
        if let Err(errno) = self.saved.restore(self.tid) {
            first_error.get_or_insert(PtraceError::request("PTRACE_SETREGSET")(errno));
        }
        let mut deferred = std::mem::take(&mut self.deferred).into_iter();
        if let Err(errno) = ptrace::detach(self.tid, deferred.next()) {
            first_error.get_or_insert(PtraceError::request("PTRACE_DETACH")(errno));
        }
        for signal in deferred {
            let _ = nix::sys::signal::kill(self.tid, signal);
        }
        tracing::debug!(tid = self.tid.as_raw(), "thread restored and released");
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Seized {
    fn drop(&mut self) {
        if let Err(error) = self.restore() {
            tracing::warn!(tid = self.tid.as_raw(), %error, "could not fully restore a borrowed thread");
        }
    }
}

/// Waits until the thread is in a ptrace stop after `PTRACE_INTERRUPT`; signals delivered on
/// the way are kept in `deferred` (they are the program's).
fn wait_for_stop(tid: Pid, timeout: Duration, deferred: &mut Vec<Signal>, what: &str) -> Result<(), PtraceError> {
    let started = Instant::now();
    loop {
        match poll(tid)? {
            Some(WaitStatus::PtraceEvent(..)) => return Ok(()),
            Some(WaitStatus::Stopped(_, signal)) => {
                if !deferred.contains(&signal) {
                    deferred.push(signal);
                }
                // Suppress it for now; the interrupt is still pending and stops it next.
                ptrace::cont(tid, None).map_err(PtraceError::request("PTRACE_CONT"))?;
            }
            Some(other) => return Err(PtraceError::Unexpected(format!("unexpected wait status {other:?} while {what}"))),
            None if started.elapsed() >= timeout => {
                return Err(PtraceError::Timeout { what: what.to_string(), seconds: timeout.as_secs_f64() });
            }
            None => std::thread::sleep(pause(started)),
        }
    }
}

/// Waits for the next signal-delivery stop; `None` on timeout.
fn wait_for_signal(tid: Pid, timeout: Duration) -> Result<Option<Signal>, PtraceError> {
    let started = Instant::now();
    loop {
        match poll(tid)? {
            Some(WaitStatus::Stopped(_, signal)) => return Ok(Some(signal)),
            Some(WaitStatus::PtraceEvent(..)) => {
                // A group stop (someone sent SIGSTOP): let it go on; we only wait for our trap.
                ptrace::cont(tid, None).map_err(PtraceError::request("PTRACE_CONT"))?;
            }
            Some(other) => return Err(PtraceError::Unexpected(format!("unexpected wait status {other:?}"))),
            None if started.elapsed() >= timeout => return Ok(None),
            None => std::thread::sleep(pause(started)),
        }
    }
}

/// One non-blocking `waitpid` on the thread.
fn poll(tid: Pid) -> Result<Option<WaitStatus>, PtraceError> {
    match waitpid(tid, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
        Ok(WaitStatus::StillAlive) => Ok(None),
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(Errno::ECHILD) => Err(PtraceError::Gone),
        Ok(status) => Ok(Some(status)),
        Err(Errno::EINTR) => Ok(None),
        Err(errno) => Err(PtraceError::request("waitpid")(errno)),
    }
}

/// Short sleeps first (a stop takes microseconds), longer ones later.
fn pause(started: Instant) -> Duration {
    if started.elapsed() < Duration::from_millis(5) {
        Duration::from_micros(20)
    } else {
        Duration::from_micros(500)
    }
}
