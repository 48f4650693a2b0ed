//! Reading and writing another process's memory.
//!
//! [`ProcessMemory`] is the one seam: [`RemoteMemory`] uses `process_vm_readv`/`writev` (no
//! ptrace stop; the kernel checks `PTRACE_MODE_ATTACH` and Yama), [`BufferMemory`] is a byte
//! buffer at a pretend address, so the layout walkers are tested on tables built in the test.

use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;
use std::io::{IoSlice, IoSliceMut};
use std::sync::Mutex;

/// A failed memory access.
#[derive(Debug, thiserror::Error)]
#[error("{len} bytes at {address:#x}: {source}")]
pub struct MemoryError {
    /// Where.
    pub address: u64,
    /// How many bytes.
    pub len: usize,
    /// Why (`EPERM`/`EACCES`: refused; `ESRCH`: the process is gone; `EFAULT`: unmapped).
    #[source]
    pub source: std::io::Error,
}

impl MemoryError {
    /// True when the kernel refused access (as opposed to a bad address or a dead process).
    pub fn is_permission(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::PermissionDenied
    }

    /// True when the process no longer exists.
    pub fn is_gone(&self) -> bool {
        self.source.raw_os_error() == Some(libc_esrch())
    }
}

fn libc_esrch() -> i32 {
    nix::errno::Errno::ESRCH as i32
}

/// Memory of some process.
pub trait ProcessMemory {
    /// Fills `buf` from `address`.
    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), MemoryError>;

    /// Writes `data` at `address`.
    fn write(&self, address: u64, data: &[u8]) -> Result<(), MemoryError>;

    /// Reads `len` bytes.
    fn read_vec(&self, address: u64, len: usize) -> Result<Vec<u8>, MemoryError> {
        let mut buf = vec![0u8; len];
        self.read(address, &mut buf)?;
        Ok(buf)
    }

    /// Reads a native-endian `u64` (also pointers on 64-bit targets).
    fn read_u64(&self, address: u64) -> Result<u64, MemoryError> {
        let mut buf = [0u8; 8];
        self.read(address, &mut buf)?;
        Ok(u64::from_ne_bytes(buf))
    }

    /// Reads a native-endian `u32`.
    fn read_u32(&self, address: u64) -> Result<u32, MemoryError> {
        let mut buf = [0u8; 4];
        self.read(address, &mut buf)?;
        Ok(u32::from_ne_bytes(buf))
    }

    /// Reads one byte.
    fn read_u8(&self, address: u64) -> Result<u8, MemoryError> {
        let mut buf = [0u8; 1];
        self.read(address, &mut buf)?;
        Ok(buf[0])
    }
}

/// Another process's memory through `process_vm_readv`/`process_vm_writev`.
#[derive(Debug, Clone, Copy)]
pub struct RemoteMemory {
    pid: u32,
}

impl RemoteMemory {
    /// The memory of `pid`.
    pub fn new(pid: u32) -> RemoteMemory {
        RemoteMemory { pid }
    }

    /// The pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn error(&self, address: u64, len: usize, errno: nix::errno::Errno) -> MemoryError {
        MemoryError {
            address,
            len,
            source: std::io::Error::from_raw_os_error(errno as i32),
        }
    }
}

impl ProcessMemory for RemoteMemory {
    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let pid = Pid::from_raw(self.pid as i32);
        let mut done = 0;
        while done < buf.len() {
            let remote = [RemoteIoVec {
                base: (address + done as u64) as usize,
                len: buf.len() - done,
            }];
            let mut local = [IoSliceMut::new(&mut buf[done..])];
            match process_vm_readv(pid, &mut local, &remote) {
                Ok(0) => return Err(self.error(address, buf.len(), nix::errno::Errno::EFAULT)),
                Ok(n) => done += n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(errno) => return Err(self.error(address, buf.len(), errno)),
            }
        }
        Ok(())
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<(), MemoryError> {
        let pid = Pid::from_raw(self.pid as i32);
        let mut done = 0;
        while done < data.len() {
            let remote = [RemoteIoVec {
                base: (address + done as u64) as usize,
                len: data.len() - done,
            }];
            let local = [IoSlice::new(&data[done..])];
            match process_vm_writev(pid, &local, &remote) {
                Ok(0) => return Err(self.error(address, data.len(), nix::errno::Errno::EFAULT)),
                Ok(n) => done += n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(errno) => return Err(self.error(address, data.len(), errno)),
            }
        }
        Ok(())
    }
}

/// A byte buffer standing in for a process's memory at `base` (tests build CPython-shaped
/// tables in it).
#[derive(Debug)]
pub struct BufferMemory {
    base: u64,
    bytes: Mutex<Vec<u8>>,
}

impl BufferMemory {
    /// `len` zero bytes at `base`.
    pub fn new(base: u64, len: usize) -> BufferMemory {
        BufferMemory {
            base,
            bytes: Mutex::new(vec![0; len]),
        }
    }

    /// A copy of the bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        self.bytes.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn range(&self, address: u64, len: usize) -> Result<std::ops::Range<usize>, MemoryError> {
        let fault = || MemoryError {
            address,
            len,
            source: std::io::Error::from_raw_os_error(nix::errno::Errno::EFAULT as i32),
        };
        let start = address.checked_sub(self.base).ok_or_else(fault)? as usize;
        let end = start.checked_add(len).ok_or_else(fault)?;
        let size = self.bytes.lock().map(|b| b.len()).unwrap_or(0);
        if end > size {
            return Err(fault());
        }
        Ok(start..end)
    }
}

impl ProcessMemory for BufferMemory {
    fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let range = self.range(address, buf.len())?;
        if let Ok(bytes) = self.bytes.lock() {
            buf.copy_from_slice(&bytes[range]);
        }
        Ok(())
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<(), MemoryError> {
        let range = self.range(address, data.len())?;
        if let Ok(mut bytes) = self.bytes.lock() {
            bytes[range].copy_from_slice(data);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_memory_reads_and_writes_our_own_process() {
        let value: Box<u64> = Box::new(0x1122_3344_5566_7788);
        let address = &*value as *const u64 as u64;
        let memory = RemoteMemory::new(std::process::id());
        assert_eq!(memory.read_u64(address).expect("read"), 0x1122_3344_5566_7788);
        let target: Box<[u8; 4]> = Box::new([0; 4]);
        let at = target.as_ptr() as u64;
        memory.write(at, b"abcd").expect("write");
        assert_eq!(memory.read_vec(at, 4).expect("read back"), b"abcd");
    }

    #[test]
    fn bad_addresses_and_dead_pids_are_errors() {
        let memory = RemoteMemory::new(std::process::id());
        assert!(memory.read_u64(8).is_err());
        let buffer = BufferMemory::new(0x1000, 16);
        assert!(buffer.read_u64(0x1000 + 12).is_err());
        buffer.write(0x1008, &7u64.to_ne_bytes()).expect("write");
        assert_eq!(buffer.read_u64(0x1008).expect("read"), 7);
    }
}
