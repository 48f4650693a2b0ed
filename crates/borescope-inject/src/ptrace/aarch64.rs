//! aarch64: the registers, the stub and the AAPCS64 calling convention.
//!
//! The stub is `svc #0; brk #0`: a system call runs from its first instruction and traps at
//! the second, and a function call returns (through `lr`) to the `brk` (offset 4).
//!
//! A thread stopped inside a blocking system call needs nothing special here: before a
//! ptrace stop the kernel has already rewound it for a restart (the program counter back on
//! its `svc`, `x0` back to the call's first argument) and forgotten the call, so the saved
//! registers re-run it when put back, and borescope's own registers (the program counter
//! elsewhere) are left alone by the restart logic. A call the kernel would have continued
//! through `restart_syscall` (a relative `nanosleep`, `poll`) starts over with its whole
//! timeout instead; CPython's `time.sleep` uses an absolute deadline and is not affected.
//! The floating-point and SIMD registers (`NT_PRFPREG`), which a called function may use
//! freely, are saved and put back too (not SVE's wider state).

use nix::errno::Errno;
use nix::libc::user_regs_struct;
use nix::sys::ptrace;
use nix::unistd::Pid;

/// Offset of the trap in the stub.
pub const TRAP_OFFSET: u64 = 4;

/// The floating-point and SIMD register set (`NT_PRFPREG`, `user_fpsimd_struct`).
pub const FLOAT_SETS: &[(i32, usize)] = &[(2, 528)];

/// `svc #0` then `brk #0`.
pub fn stub_word(_original: i64) -> i64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&0xd400_0001u32.to_le_bytes());
    bytes[4..].copy_from_slice(&0xd420_0000u32.to_le_bytes());
    i64::from_le_bytes(bytes)
}

/// A thread's general registers.
#[derive(Clone, Copy)]
pub struct Registers(user_regs_struct);

impl Registers {
    pub fn read(tid: Pid) -> Result<Registers, Errno> {
        ptrace::getregs(tid).map(Registers)
    }

    /// The registers to put back on release.
    pub fn read_saved(tid: Pid) -> Result<Registers, Errno> {
        Registers::read(tid)
    }

    pub fn write(&self, tid: Pid) -> Result<(), Errno> {
        ptrace::setregs(tid, self.0)
    }

    pub fn restore(&self, tid: Pid) -> Result<(), Errno> {
        self.write(tid)
    }

    pub fn pc(&self) -> u64 {
        self.0.pc
    }

    /// The kernel has already prepared any interrupted call to run again (see above).
    pub fn in_syscall(&self) -> bool {
        false
    }

    pub fn result(&self) -> u64 {
        self.0.regs[0]
    }

    /// `brk` leaves the program counter on itself.
    pub fn trapped_at(&self, trap: u64) -> bool {
        self.0.pc == trap
    }

    pub fn for_syscall(&self, stub: u64, number: u64, args: &[u64]) -> Registers {
        let mut regs = self.0;
        regs.pc = stub;
        regs.regs[8] = number;
        for (slot, value) in regs.regs.iter_mut().zip(args) {
            *slot = *value;
        }
        Registers(regs)
    }

    pub fn for_call(&self, function: u64, args: &[u64], return_to: u64) -> Registers {
        let mut regs = self.0;
        regs.pc = function;
        regs.regs[30] = return_to;
        // No red zone in AAPCS64; keep a margin anyway and the required 16-byte alignment.
        regs.sp = (self.0.sp - 128) & !15;
        // BTYPE cleared: the callee starts as after a plain branch-and-link.
        regs.pstate &= !(3 << 10);
        for (slot, value) in regs.regs.iter_mut().zip(args) {
            *slot = *value;
        }
        Registers(regs)
    }

    /// The return address is in `lr`, not on the stack.
    pub fn return_slot(&self, _return_to: u64) -> Option<(u64, i64)> {
        None
    }
}
