"""pod.py's trigger for Python 3.9-3.13 (no ``sys.remote_exec``): a pending call, scheduled
with ptrace through ctypes. Never imported in a target; pod.py loads it from the agent archive
borescope streams with a job, and runs it in the target's own interpreter.

The algorithm is the one ``borescope-inject::pending_call`` runs locally in Rust:

1. ``PTRACE_SEIZE`` the main thread (tid = pid), ``PTRACE_INTERRUPT``, wait (bounded) for it to
   stop; a signal that stops it first is remembered and delivered again at the end.
2. Save its general registers (``PTRACE_GETREGSET NT_PRSTATUS``), its floating-point and vector
   registers (x86-64 ``NT_X86_XSTATE``, else ``NT_PRFPREG``), on aarch64 its syscall number
   (``NT_ARM_SYSTEM_CALL``), and the 8 bytes at the process's entry point (``AT_ENTRY``, code
   that never runs again).
3. Write a stub there: ``syscall; int3`` (x86-64) or ``svc #0; brk #0`` (aarch64).
4. Remote system call: ``mmap`` one read-write page (pc at the stub; x86-64 ``orig_rax`` = -1
   so no restart logic applies to borescope's registers).
5. Write the NUL-terminated code into the page, then a remote call
   ``Py_AddPendingCall(PyRun_SimpleString, page)`` returning into the trap (x86-64: below the
   128-byte red zone, 16-byte aligned as at a call; aarch64: ``lr`` = the ``brk``).
6. Restore the bytes and every register (an interrupted blocking system call then restarts as
   the kernel would have restarted it) and ``PTRACE_DETACH``, handing back the first signal that
   arrived meanwhile (``tgkill`` for the rest).

Later, once the job reported, :func:`release` unmaps the page with the same stop.

A system call interrupted by the stop restarts as the kernel would restart it: on x86-64 the
saved ``orig_rax``/``rax`` lead the kernel's restart logic after the detach; on aarch64 the
kernel rewinds ``pc`` and ``x0`` before the stop, so the restored registers re-run the call, and
one the kernel would have continued through ``restart_syscall`` (a relative sleep or ``poll``)
starts over with its full timeout. Only x86-64 is tested here.

Every wait is bounded (:data:`STOP_TIMEOUT`); whatever fails, the thread's bytes and registers
are restored and it is detached before the error is raised, so the target is never left
stopped or changed. Errors are :class:`PtraceError` with the failure kind pod.py reports.
"""

import os
import signal
import time

try:
    import ctypes
except ImportError as _error:  # pod.py turns this into the `no_ctypes` refusal
    ctypes = None
    CTYPES_ERROR = "%s: %s" % (type(_error).__name__, _error)
else:
    CTYPES_ERROR = None

PAGE = 4096
STOP_TIMEOUT = 2.0
RESTORE_TIMEOUT = 20.0
MASK = (1 << 64) - 1

PTRACE_PEEKDATA = 2
PTRACE_POKEDATA = 5
PTRACE_CONT = 7
PTRACE_DETACH = 17
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_EVENT_STOP = 128
NT_PRSTATUS = 1
NT_PRFPREG = 2
NT_X86_XSTATE = 0x202
NT_ARM_SYSTEM_CALL = 0x404
WALL = 0x40000000
PROT_READ_WRITE = 3
MAP_PRIVATE_ANONYMOUS = 0x22
# Signals that would end this program, held back while the target is stopped.
GUARDED = (signal.SIGALRM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
# Signals that, while borescope's code runs in the thread, can only come from that code.
FAULTS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGTRAP)


class PtraceError(Exception):
    """A failure with pod.py's `kind` (``permission``, ``gone``, ``inject_failed``, ...), the
    step that failed, and extra fields for the report."""

    def __init__(self, kind, message, **extra):
        Exception.__init__(self, message)
        self.kind, self.extra = kind, extra


class X86_64(object):
    """user_regs_struct: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip
    cs eflags rsp ss fs_base gs_base ds es fs gs."""

    name = "x86_64"
    registers = 27
    PC, SP, RESULT = 16, 19, 10
    ORIG_RAX, EFLAGS = 15, 18
    ARGS = (14, 13, 12, 7, 9, 8)  # rdi rsi rdx r10 r8 r9 (r10: the syscall's 4th)
    CALL_ARGS = (14, 13, 12, 11, 9, 8)  # rdi rsi rdx rcx r8 r9
    STUB = b"\x0f\x05\xcc"  # syscall; int3
    TRAP_PC = 3  # after the int3
    RETURN_TO = 2  # the int3
    SYSCALLS = {"mmap": 9, "munmap": 11, "tgkill": 234}
    FP_NOTES = (NT_X86_XSTATE, NT_PRFPREG)

    def prepare_syscall(self, regs, entry, number, args):
        regs[self.PC] = entry
        regs[self.RESULT] = number
        regs[self.ORIG_RAX] = MASK  # -1: not in a system call, nothing to restart
        for index, value in zip(self.ARGS, args):
            regs[index] = value & MASK

    def prepare_call(self, regs, entry, function, args, poke):
        sp = ((regs[self.SP] - 128) & ~15) - 8  # past the red zone; rsp % 16 == 8 at entry
        poke(sp, entry + self.RETURN_TO)
        regs[self.SP] = sp
        regs[self.PC] = function
        regs[self.RESULT] = 0  # no vector registers for a variadic callee
        regs[self.ORIG_RAX] = MASK
        regs[self.EFLAGS] &= ~0x400  # the ABI wants the direction flag clear
        for index, value in zip(self.CALL_ARGS, args):
            regs[index] = value & MASK


class Aarch64(object):
    """user_pt_regs: x0..x30, sp, pc, pstate."""

    name = "aarch64"
    registers = 34
    PC, SP, RESULT, LR, PSTATE = 32, 31, 0, 30, 33
    STUB = b"\x01\x00\x00\xd4\x00\x00\x20\xd4"  # svc #0; brk #0
    TRAP_PC = 4  # brk reports its own address
    RETURN_TO = 4
    SYSCALLS = {"mmap": 222, "munmap": 215, "tgkill": 131}
    FP_NOTES = (NT_PRFPREG,)

    def prepare_syscall(self, regs, entry, number, args):
        regs[self.PC] = entry
        regs[8] = number
        for index, value in enumerate(args):
            regs[index] = value & MASK

    def prepare_call(self, regs, entry, function, args, poke):
        regs[self.SP] = (regs[self.SP] - 128) & ~15
        regs[self.LR] = entry + self.RETURN_TO
        regs[self.PC] = function
        regs[self.PSTATE] &= ~(3 << 10)  # BTYPE: the callee starts as after a plain call
        for index, value in enumerate(args):
            regs[index] = value & MASK


ARCHES = {"x86_64": X86_64, "aarch64": Aarch64}

_libc = None


def libc():
    """libc's ptrace and syscall through ctypes (glibc or musl: the process's own libc)."""
    global _libc
    if _libc is None:
        if ctypes is None:
            raise PtraceError("no_ctypes", "this Python cannot import ctypes (%s)" % CTYPES_ERROR)
        lib = ctypes.CDLL(None, use_errno=True)
        lib.ptrace.restype = ctypes.c_long
        lib.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        lib.syscall.restype = ctypes.c_long
        _libc = lib
    return _libc


def signed(value):
    value &= MASK
    return value - (1 << 64) if value >> 63 else value


class Tracee(object):
    """Process `pid`'s main thread, stopped for the length of a ``with`` block, then restored and
    detached. `plan` is pod.py's: arch, entry."""

    def __init__(self, pid, plan):
        arch = ARCHES.get(plan.get("arch"))
        if arch is None:
            raise PtraceError("unsupported_arch", "borescope schedules code on x86-64 and aarch64, not %s" % plan.get("arch"), machine=plan.get("arch"))
        self.pid, self.arch, self.entry = pid, arch(), plan["entry"]
        self.lib = libc()
        self.seized = self.stopped = False
        self.regs = self.fp = self.syscall_number = self.word = None
        self.signals = []  # signals for the program that arrived while stopped: delivered again

    # -- ptrace -------------------------------------------------------------------------------

    def ptrace(self, request, addr, data, step):
        ctypes.set_errno(0)
        result = self.lib.ptrace(request, self.pid, addr, data)
        error = ctypes.get_errno()
        if result == -1 and error:
            self.fail(error, step)
        return result

    def fail(self, error, step):
        text = "%s failed: %s" % (step, os.strerror(error))
        if error == 3:  # ESRCH
            raise PtraceError("gone", "pid %d ended (%s)" % (self.pid, text), step=step)
        if error in (1, 13):  # EPERM, EACCES
            raise PtraceError("permission", "not allowed to trace pid %d: %s" % (self.pid, text), step=step)
        raise PtraceError("inject_failed", "pid %d: %s" % (self.pid, text), step=step)

    def regset(self, note, buffer, step, write=False):
        iov = (ctypes.c_size_t * 2)(ctypes.addressof(buffer), ctypes.sizeof(buffer))
        self.ptrace(PTRACE_SETREGSET if write else PTRACE_GETREGSET, note, ctypes.addressof(iov), step)
        return iov[1]

    def get_regs(self):
        regs = (ctypes.c_uint64 * self.arch.registers)()
        self.regset(NT_PRSTATUS, regs, "PTRACE_GETREGSET NT_PRSTATUS")
        return list(regs)

    def set_regs(self, values):
        regs = (ctypes.c_uint64 * self.arch.registers)(*[v & MASK for v in values])
        self.regset(NT_PRSTATUS, regs, "PTRACE_SETREGSET NT_PRSTATUS", write=True)

    def peek(self, address):
        return self.ptrace(PTRACE_PEEKDATA, address, None, "PTRACE_PEEKDATA at 0x%x" % address) & MASK

    def poke(self, address, word):
        self.ptrace(PTRACE_POKEDATA, address, word & MASK, "PTRACE_POKEDATA at 0x%x" % address)

    def write(self, address, data):
        data += b"\0" * (-len(data) % 8)
        for offset in range(0, len(data), 8):
            self.poke(address + offset, int.from_bytes(data[offset : offset + 8], "little"))

    def resume(self, sig=0):
        self.ptrace(PTRACE_CONT, None, sig, "PTRACE_CONT")
        self.stopped = False

    # -- stopping and letting go --------------------------------------------------------------

    def __enter__(self):
        # Dying while the thread runs borescope's code would leave it there (the kernel detaches
        # a dead tracer's tracees as they are): the signals that end this program wait.
        self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, GUARDED)
        try:
            self.ptrace(PTRACE_SEIZE, None, None, "PTRACE_SEIZE")
            self.seized = True
            self.ptrace(PTRACE_INTERRUPT, None, None, "PTRACE_INTERRUPT")
            self.wait(trap=False)
            self.save()
        except BaseException:
            try:
                self.let_go()
            except PtraceError:
                pass
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
            raise
        return self

    def __exit__(self, kind, value, tb):
        try:
            self.let_go()
        except PtraceError:
            if kind is None:
                raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
        return False

    def save(self):
        self.regs = self.get_regs()
        for note in self.arch.FP_NOTES:
            buffer = ctypes.create_string_buffer(16384)
            try:
                size = self.regset(note, buffer, "PTRACE_GETREGSET 0x%x" % note)
            except PtraceError:
                continue  # not on this CPU/kernel: the next, smaller set
            self.fp = (note, buffer.raw[:size])
            break
        if self.fp is None:
            raise PtraceError("inject_failed", "cannot read pid %d's floating-point registers, so borescope could not restore them" % self.pid, step="PTRACE_GETREGSET")
        if self.arch.name == "aarch64":
            number = ctypes.c_int32()
            self.regset(NT_ARM_SYSTEM_CALL, number, "PTRACE_GETREGSET NT_ARM_SYSTEM_CALL")
            self.syscall_number = number.value
        word = self.peek(self.entry)
        stub = self.arch.STUB
        self.word = word
        original = word.to_bytes(8, "little")
        self.poke(self.entry, int.from_bytes(stub + original[len(stub) :], "little"))

    def restore(self):
        """Puts back the bytes and registers; every step is tried even if one fails."""
        steps = []
        if self.word is not None:
            steps.append(lambda: self.poke(self.entry, self.word))
        if self.fp is not None:
            note, data = self.fp
            steps.append(lambda: self.regset(note, ctypes.create_string_buffer(data, len(data)), "PTRACE_SETREGSET 0x%x" % note, write=True))
        if self.syscall_number is not None:
            steps.append(lambda: self.regset(NT_ARM_SYSTEM_CALL, ctypes.c_int32(self.syscall_number), "PTRACE_SETREGSET NT_ARM_SYSTEM_CALL", write=True))
        steps.append(lambda: self.set_regs(self.regs))
        failed = None
        for step in steps:
            try:
                step()
            except PtraceError as error:
                failed = failed or error
        if failed is not None:
            raise failed

    def let_go(self):
        """Restores what was changed and detaches (a target that ended needs nothing); raises
        only when the thread could not be restored."""
        if not self.seized:
            return
        failed = None
        try:
            if not self.stopped and self.regs is not None:
                # Running borescope's code (it did not return in time): stop it there. Longer
                # than other waits: detaching a thread that still runs it would kill the target.
                self.ptrace(PTRACE_INTERRUPT, None, None, "PTRACE_INTERRUPT")
                self.wait(trap=False, timeout=RESTORE_TIMEOUT)
            if self.regs is not None:
                self.restore()
        except PtraceError as error:
            if error.kind == "gone":
                return
            failed = error
        first = self.signals[0] if self.signals else 0
        try:
            self.ptrace(PTRACE_DETACH, None, first, "PTRACE_DETACH")
        except PtraceError:
            pass  # not stopped or gone: ending this program detaches as well
        self.seized = False
        for sig in self.signals[1:]:
            self.lib.syscall(self.arch.SYSCALLS["tgkill"], self.pid, self.pid, sig)
        if failed is not None:
            raise PtraceError("inject_failed", "pid %d could not be restored: %s" % (self.pid, failed), step=failed.extra.get("step"))

    def wait(self, trap, timeout=STOP_TIMEOUT):
        """Waits for the thread to stop: with `trap`, at borescope's trap after its code ran
        (other stops are signals for the program: noted, and the thread continued without
        them); without, for any stop (the interrupt, or a signal, noted)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG | WALL)
            except ChildProcessError:
                raise PtraceError("gone", "pid %d ended" % self.pid)
            if pid == 0:
                if time.monotonic() > deadline:
                    what = "return from borescope's code" if trap else "stop"
                    raise PtraceError("inject_failed", "pid %d's main thread did not %s within %.0fs" % (self.pid, what, timeout), step="wait")
                time.sleep(0.0002)
                continue
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                self.seized = False
                raise PtraceError("gone", "pid %d ended" % self.pid)
            if not os.WIFSTOPPED(status):
                continue
            self.stopped = True
            sig, event = os.WSTOPSIG(status), status >> 16
            if not trap:
                if event != PTRACE_EVENT_STOP:
                    self.signals.append(sig)  # a signal-delivery stop: deliver it at the end
                return
            if event == PTRACE_EVENT_STOP:
                self.resume()  # the interrupt of an earlier stop, or a group stop: run on
                continue
            if sig == signal.SIGTRAP and self.get_regs()[self.arch.PC] == self.entry + self.arch.TRAP_PC:
                return
            if sig in FAULTS:
                raise PtraceError("inject_failed", "borescope's code in pid %d stopped with signal %d at pc 0x%x" % (self.pid, sig, self.get_regs()[self.arch.PC]), step="run")
            self.signals.append(sig)
            self.resume()

    # -- running code in the thread -----------------------------------------------------------

    def run(self, regs):
        self.set_regs(regs)
        if self.syscall_number is not None:
            self.regset(NT_ARM_SYSTEM_CALL, ctypes.c_int32(-1), "PTRACE_SETREGSET NT_ARM_SYSTEM_CALL", write=True)
        self.resume()
        self.wait(trap=True)
        return self.get_regs()[self.arch.RESULT]

    def syscall(self, name, *args):
        regs = list(self.regs)
        self.arch.prepare_syscall(regs, self.entry, self.arch.SYSCALLS[name], args)
        return signed(self.run(regs))

    def call(self, function, *args):
        regs = list(self.regs)
        self.arch.prepare_call(regs, self.entry, function, args, self.poke)
        return self.run(regs)


def schedule(pid, plan, code):
    """Queues `code` (bytes, no NUL) as a pending call in `pid`: returns the page holding it,
    which stays mapped until :func:`release`."""
    data = code + b"\0"
    if b"\0" in code or len(data) > PAGE:
        raise PtraceError("inject_failed", "the pending call's code must be at most %d bytes without NUL" % (PAGE - 1))
    with Tracee(pid, plan) as tracee:
        page = tracee.syscall("mmap", 0, PAGE, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0)
        if -4096 < page < 0:
            raise PtraceError("inject_failed", "mmap in pid %d failed: %s" % (pid, os.strerror(-page)), step="mmap")
        called = False
        try:
            tracee.write(page, data)
            called = True
            queued = tracee.call(plan["Py_AddPendingCall"], plan["PyRun_SimpleString"], page) & 0xFFFFFFFF
        except BaseException:
            if not called and tracee.stopped:
                tracee.syscall("munmap", page, PAGE)
            raise
        if queued != 0:
            tracee.syscall("munmap", page, PAGE)
            raise PtraceError("queue_full", "pid %d's interpreter refused the pending call (its queue is full)" % pid, step="Py_AddPendingCall")
    return page


def release(pid, plan, page):
    """Unmaps the page of a pending call that has run."""
    with Tracee(pid, plan) as tracee:
        result = tracee.syscall("munmap", page, PAGE)
    if result < 0:
        raise PtraceError("inject_failed", "munmap in pid %d failed: %s" % (pid, os.strerror(-result)), step="munmap")
