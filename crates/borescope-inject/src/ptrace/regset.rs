//! `PTRACE_GETREGSET`/`PTRACE_SETREGSET` for register sets nix has no type for (x86-64's
//! `NT_X86_XSTATE`, whose size depends on the processor), as plain bytes; and the
//! floating-point and vector registers kept that way.

#![allow(unsafe_code)] // Reason: the iovec-based requests have no safe wrapper for untyped sets.

use nix::errno::Errno;
use nix::libc;
use nix::unistd::Pid;

/// Reads register set `note` into a buffer of up to `capacity` bytes; returns what the kernel
/// filled.
pub fn get(tid: Pid, note: libc::c_int, capacity: usize) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0u8; capacity];
    let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    // SAFETY: the kernel writes at most iov_len bytes into `buffer`, which outlives the call,
    // and updates iov_len to the size it wrote.
    let result = unsafe {
        libc::ptrace(libc::PTRACE_GETREGSET, tid.as_raw(), note as usize as *mut libc::c_void, &mut iov as *mut libc::iovec)
    };
    Errno::result(result)?;
    buffer.truncate(iov.iov_len);
    Ok(buffer)
}

/// Writes register set `note` from `bytes` (as [`get`] returned them).
pub fn set(tid: Pid, note: libc::c_int, bytes: &[u8]) -> Result<(), Errno> {
    let mut copy = bytes.to_vec();
    let mut iov = libc::iovec { iov_base: copy.as_mut_ptr().cast(), iov_len: copy.len() };
    // SAFETY: the kernel reads iov_len bytes from `copy`, which outlives the call.
    let result = unsafe {
        libc::ptrace(libc::PTRACE_SETREGSET, tid.as_raw(), note as usize as *mut libc::c_void, &mut iov as *mut libc::iovec)
    };
    Errno::result(result).map(drop)
}

/// A thread's floating-point and vector registers, as the kernel gave them.
#[derive(Clone)]
pub struct FloatRegisters {
    note: libc::c_int,
    bytes: Vec<u8>,
}

impl FloatRegisters {
    /// Reads the first of `sets` (`(note, largest size)`, most complete first) the kernel has.
    pub fn read(tid: Pid, sets: &[(libc::c_int, usize)]) -> Result<FloatRegisters, Errno> {
        let mut last = Errno::EINVAL;
        for (note, capacity) in sets {
            match get(tid, *note, *capacity) {
                Ok(bytes) => return Ok(FloatRegisters { note: *note, bytes }),
                Err(errno) => last = errno,
            }
        }
        Err(last)
    }

    /// Puts them back.
    pub fn write(&self, tid: Pid) -> Result<(), Errno> {
        set(tid, self.note, &self.bytes)
    }
}
