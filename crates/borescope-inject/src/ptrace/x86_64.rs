//! x86-64: the registers, the stub and the System V calling convention.
//!
//! The stub is `syscall; int3` (`0f 05 cc`): a system call runs from its first byte and traps
//! at the third, and a function call returns to the `int3` (offset 2). `orig_rax` is the
//! kernel's record of the system call a thread was in; it is set to -1 while borescope's code
//! runs (so the kernel does not "restart" it) and put back on release, so an interrupted
//! blocking call restarts exactly as it would after any signal.

use nix::errno::Errno;
use nix::libc::user_regs_struct;
use nix::sys::ptrace;
use nix::unistd::Pid;

/// Offset of the trap in the stub.
pub const TRAP_OFFSET: u64 = 2;

/// Bytes below the stack pointer a function may use without moving it.
const RED_ZONE: u64 = 128;

/// `DF` in `eflags`.
const DIRECTION_FLAG: u64 = 1 << 10;

/// The `syscall; int3` stub laid over the low bytes of `original`.
pub fn stub_word(original: i64) -> i64 {
    let mut bytes = original.to_le_bytes();
    bytes[..3].copy_from_slice(&[0x0f, 0x05, 0xcc]);
    i64::from_le_bytes(bytes)
}

/// A thread's general registers.
#[derive(Clone, Copy)]
pub struct Registers(user_regs_struct);

impl Registers {
    pub fn read(tid: Pid) -> Result<Registers, Errno> {
        ptrace::getregs(tid).map(Registers)
    }

    /// The registers to put back on release (on x86-64 the general registers say it all).
    pub fn read_saved(tid: Pid) -> Result<Registers, Errno> {
        Registers::read(tid)
    }

    pub fn write(&self, tid: Pid) -> Result<(), Errno> {
        ptrace::setregs(tid, self.0)
    }

    /// Writes the saved registers back, `orig_rax` included.
    pub fn restore(&self, tid: Pid) -> Result<(), Errno> {
        self.write(tid)
    }

    pub fn pc(&self) -> u64 {
        self.0.rip
    }

    /// True when the thread was stopped inside a system call.
    pub fn in_syscall(&self) -> bool {
        (self.0.orig_rax as i64) >= 0
    }

    pub fn result(&self) -> u64 {
        self.0.rax
    }

    /// After an `int3` at `trap`, the instruction pointer is just past it.
    pub fn trapped_at(&self, trap: u64) -> bool {
        self.0.rip == trap + 1
    }

    pub fn for_syscall(&self, stub: u64, number: u64, args: &[u64]) -> Registers {
        let mut regs = self.0;
        regs.rip = stub;
        regs.rax = number;
        regs.orig_rax = u64::MAX;
        let slots = [&mut regs.rdi, &mut regs.rsi, &mut regs.rdx, &mut regs.r10, &mut regs.r8, &mut regs.r9];
        for (slot, value) in slots.into_iter().zip(args) {
            *slot = *value;
        }
        Registers(regs)
    }

    pub fn for_call(&self, function: u64, args: &[u64], _return_to: u64) -> Registers {
        let mut regs = self.0;
        regs.rip = function;
        regs.rax = 0;
        regs.orig_rax = u64::MAX;
        // Below the red zone, 16-byte aligned, then one slot for the return address: the callee
        // starts with rsp ≡ 8 (mod 16), as after a `call`.
        regs.rsp = ((self.0.rsp - RED_ZONE) & !15) - 8;
        // The ABI wants the direction flag clear at a call.
        regs.eflags &= !DIRECTION_FLAG;
        let slots = [&mut regs.rdi, &mut regs.rsi, &mut regs.rdx, &mut regs.rcx, &mut regs.r8, &mut regs.r9];
        for (slot, value) in slots.into_iter().zip(args) {
            *slot = *value;
        }
        Registers(regs)
    }

    /// The stack slot holding the return address, and its value.
    pub fn return_slot(&self, return_to: u64) -> Option<(u64, i64)> {
        Some((self.0.rsp, return_to as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stub_keeps_the_rest_of_the_word() {
        let word = stub_word(0x1122_3344_5566_7788);
        assert_eq!(word.to_le_bytes(), [0x0f, 0x05, 0xcc, 0x55, 0x44, 0x33, 0x22, 0x11]);
    }
}
