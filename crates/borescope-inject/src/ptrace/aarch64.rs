//! aarch64: the registers, the stub and the AAPCS64 calling convention.
//!
//! The stub is `svc #0; brk #0`: a system call runs from its first instruction and traps at
//! the second, and a function call returns (through `lr`) to the `brk` (offset 4). The
//! kernel's system-call state is not in the general registers: the number is the
//! `NT_ARM_SYSTEM_CALL` register set, and the first argument of an interrupted call lives in
//! the kernel's `orig_x0`, which borescope's own `svc` overwrites. So a thread stopped inside a
//! blocking call is restarted by hand on release — back to its `svc` with its original first
//! argument — the way the kernel itself restarts it after a signal without a handler.

#![allow(unsafe_code)] // Reason: NT_ARM_SYSTEM_CALL has no safe wrapper in nix.

use nix::errno::Errno;
use nix::libc::{self, user_regs_struct};
use nix::sys::ptrace;
use nix::unistd::Pid;

/// Offset of the trap in the stub.
pub const TRAP_OFFSET: u64 = 4;

/// `NT_ARM_SYSTEM_CALL`: the register set holding the current system-call number.
const NT_ARM_SYSTEM_CALL: libc::c_int = 0x404;

/// `__NR_restart_syscall` on arm64.
const RESTART_SYSCALL: u64 = 128;

/// The kernel's "restart me" results (`-ERESTARTSYS`, `-ERESTARTNOINTR`, `-ERESTARTNOHAND`,
/// `-ERESTART_RESTARTBLOCK`).
const ERESTARTSYS: i64 = -512;
const ERESTARTNOINTR: i64 = -513;
const ERESTARTNOHAND: i64 = -514;
const ERESTART_RESTARTBLOCK: i64 = -516;

/// `svc #0` then `brk #0`.
pub fn stub_word(_original: i64) -> i64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&0xd400_0001u32.to_le_bytes());
    bytes[4..].copy_from_slice(&0xd420_0000u32.to_le_bytes());
    i64::from_le_bytes(bytes)
}

/// A thread's general registers, its system-call number, and (for a thread stopped inside a
/// system call) the call's first argument.
#[derive(Clone, Copy)]
pub struct Registers {
    regs: user_regs_struct,
    syscall: i32,
    first_argument: Option<u64>,
}

impl Registers {
    pub fn read(tid: Pid) -> Result<Registers, Errno> {
        let regs = ptrace::getregs(tid)?;
        Ok(Registers { regs, syscall: system_call(tid)?, first_argument: None })
    }

    /// Also reads the interrupted call's first argument from `/proc/PID/task/TID/syscall`
    /// (the kernel reports `orig_x0` there while the thread is stopped).
    pub fn read_saved(tid: Pid) -> Result<Registers, Errno> {
        let mut saved = Registers::read(tid)?;
        if saved.syscall >= 0 {
            let text = std::fs::read_to_string(format!("/proc/{0}/task/{0}/syscall", tid.as_raw())).map_err(|_| Errno::EIO)?;
            saved.first_argument = text
                .split_whitespace()
                .nth(1)
                .and_then(|arg| u64::from_str_radix(arg.trim_start_matches("0x"), 16).ok());
        }
        Ok(saved)
    }

    pub fn write(&self, tid: Pid) -> Result<(), Errno> {
        ptrace::setregs(tid, self.regs)?;
        set_system_call(tid, self.syscall)
    }

    /// Writes the saved registers back; an interrupted system call is set up to run again.
    pub fn restore(&self, tid: Pid) -> Result<(), Errno> {
        let mut regs = *self;
        let result = regs.regs.regs[0] as i64;
        if regs.syscall >= 0 {
            match result {
                ERESTART_RESTARTBLOCK => {
                    regs.regs.regs[8] = RESTART_SYSCALL;
                    regs.regs.pc -= 4;
                }
                ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND => {
                    regs.regs.regs[0] = regs.first_argument.ok_or(Errno::EIO)?;
                    regs.regs.pc -= 4;
                }
                _ => {}
            }
            regs.syscall = -1;
        }
        regs.write(tid)
    }

    pub fn pc(&self) -> u64 {
        self.regs.pc
    }

    pub fn in_syscall(&self) -> bool {
        self.syscall >= 0
    }

    pub fn result(&self) -> u64 {
        self.regs.regs[0]
    }

    /// `brk` leaves the program counter on itself.
    pub fn trapped_at(&self, trap: u64) -> bool {
        self.regs.pc == trap
    }

    pub fn for_syscall(&self, stub: u64, number: u64, args: &[u64]) -> Registers {
        let mut regs = *self;
        regs.regs.pc = stub;
        regs.regs.regs[8] = number;
        for (slot, value) in regs.regs.regs.iter_mut().zip(args) {
            *slot = *value;
        }
        regs.syscall = -1;
        regs
    }

    pub fn for_call(&self, function: u64, args: &[u64], return_to: u64) -> Registers {
        let mut regs = *self;
        regs.regs.pc = function;
        regs.regs.regs[30] = return_to;
        // No red zone in AAPCS64; keep a margin anyway and the required 16-byte alignment.
        regs.regs.sp = (self.regs.sp - 128) & !15;
        for (slot, value) in regs.regs.regs.iter_mut().zip(args) {
            *slot = *value;
        }
        regs.syscall = -1;
        regs
    }

    /// The return address is in `lr`, not on the stack.
    pub fn return_slot(&self, _return_to: u64) -> Option<(u64, i64)> {
        None
    }
}

fn system_call(tid: Pid) -> Result<i32, Errno> {
    let mut number: libc::c_int = -1;
    let mut iov = libc::iovec { iov_base: (&mut number as *mut libc::c_int).cast(), iov_len: std::mem::size_of::<libc::c_int>() };
    // SAFETY: PTRACE_GETREGSET writes at most iov_len bytes into `number`, which lives for the call.
    let result = unsafe { libc::ptrace(libc::PTRACE_GETREGSET, tid.as_raw(), NT_ARM_SYSTEM_CALL as usize as *mut libc::c_void, &mut iov as *mut libc::iovec) };
    Errno::result(result).map(|_| number)
}

fn set_system_call(tid: Pid, number: i32) -> Result<(), Errno> {
    let mut value: libc::c_int = number;
    let mut iov = libc::iovec { iov_base: (&mut value as *mut libc::c_int).cast(), iov_len: std::mem::size_of::<libc::c_int>() };
    // SAFETY: PTRACE_SETREGSET reads iov_len bytes from `value`, which lives for the call.
    let result = unsafe { libc::ptrace(libc::PTRACE_SETREGSET, tid.as_raw(), NT_ARM_SYSTEM_CALL as usize as *mut libc::c_void, &mut iov as *mut libc::iovec) };
    Errno::result(result).map(drop)
}
