//! Reading a thread's Python stack straight from memory, the way a sampling profiler does,
//! with the offsets of [`crate::layout`] (the target's own table on 3.13 and 3.14, the known
//! layouts of 3.9 to 3.12; 3.9 and 3.10 chain heap frame objects instead of interpreter
//! frames). borescope uses it to say *where* a thread is when it cannot run injected code
//! (blocked in `time.sleep`, a C call, I/O).
//!
//! Everything read here can change under our feet (the thread keeps running), so every value
//! is bounded and checked, and anything implausible ends the walk rather than being believed.

use crate::layout::{self, CurrentFrame, FrameObjectLayout, LineNumbers, StackLayout};
use crate::linetable;
use crate::memory::ProcessMemory;
use crate::runtime::{self, memory_error, PythonRuntime, ThreadState};
use crate::symbols;
use crate::InjectError;

/// One Python frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFrame {
    /// Qualified function name (`<module>` for module code).
    pub function: String,
    /// Source file as the target names it.
    pub file: String,
    /// Line number, when the location table says.
    pub line: Option<i32>,
}

/// Frames owned by the C stack or the interpreter itself (entry shims) have no Python code.
const FIRST_NON_PYTHON_OWNER: u8 = 3;

/// The thread's Python frames, innermost first, at most `limit` (CPython 3.14).
pub fn thread_stack(
    runtime: &PythonRuntime,
    memory: &dyn ProcessMemory,
    thread: &ThreadState,
    limit: usize,
) -> Result<Vec<PyFrame>, InjectError> {
    walk(&runtime.offsets.stack, runtime.pid, memory, thread.address, limit)
}

/// The Python frames of the thread with native id `tid` (as the process itself numbers its
/// threads) in a CPython 3.9–3.13, innermost first, at most `limit`. On 3.9 and 3.10, whose
/// thread states do not record their kernel thread id, only the main thread's are found.
pub fn older_thread_stack(pid: u32, tid: u64, memory: &dyn ProcessMemory, limit: usize) -> Result<Vec<PyFrame>, InjectError> {
    let identity = runtime::identify(pid)?;
    let unreadable = |what: &str| InjectError::BadLayout { pid, what: format!("cannot read its Python stack: {what}") };
    let version = identity.version.ok_or_else(|| unreadable("unknown version"))?;
    let address = match identity.runtime_address {
        Some(address) => address,
        None => symbols::find(pid, &["_PyRuntime"])
            .ok()
            .flatten()
            .and_then(|exports| exports.functions.get("_PyRuntime").map(|f| f.address))
            .ok_or_else(|| unreadable("no `_PyRuntime` symbol"))?,
    };
    if let Some(layout) = layout::frame_objects_for(version) {
        let main = crate::procfs::status(&pid.to_string()).ok().and_then(|s| s.pid_inside()).map(u64::from);
        if main != Some(tid) {
            return Err(unreadable(&format!("Python {version} records no kernel thread ids; only the main thread's stack is found")));
        }
        return main_thread_frame_objects(&layout, pid, memory, address, limit);
    }
    let table = memory.read_vec(address, layout::TABLE_SIZE_3_13).ok();
    let layout = layout::for_version(version, table.as_deref()).ok_or_else(|| unreadable(&format!("Python {version}'s frames are not read")))?;
    let read = |address: u64| memory.read_u64(address).map_err(|e| memory_error(pid, "read the memory of", e));
    let interp = read(address + layout.interpreters_head)?;
    let mut thread = if interp == 0 { 0 } else { read(interp + layout.threads_head)? };
    let mut steps = 0;
    while thread != 0 && steps < 4096 {
        steps += 1;
        if read(thread + layout.thread_native_id)? == tid {
            return walk(&layout, pid, memory, thread, limit);
        }
        thread = read(thread + layout.thread_next)?;
    }
    Err(unreadable(&format!("no thread state with native id {tid} (another build's layout?)")))
}

fn walk(layout: &StackLayout, pid: u32, memory: &dyn ProcessMemory, thread: u64, limit: usize) -> Result<Vec<PyFrame>, InjectError> {
    let read = |address: u64| memory.read_u64(address).map_err(|e| memory_error(pid, "read the memory of", e));
    let mut frames = Vec::new();
    let mut frame = match layout.current_frame {
        CurrentFrame::Direct(field) => read(thread + field)?,
        CurrentFrame::ThroughCFrame { cframe, current_frame } => match read(thread + cframe)? {
            0 => 0,
            cframe => read(cframe + current_frame)?,
        },
    };
    let mut steps = 0;
    while frame != 0 && frames.len() < limit && steps < 4096 {
        steps += 1;
        let owner = memory.read_u8(frame + layout.frame_owner).unwrap_or(u8::MAX);
        // 3.14's f_executable is a tagged stack reference; the low bits are flags.
        let code = read(frame + layout.frame_code)? & !0b111;
        if owner < FIRST_NON_PYTHON_OWNER && code != 0 && type_name(layout, memory, code).as_deref() == Some("code") {
            frames.push(code_frame(layout, memory, frame, code));
        }
        frame = read(frame + layout.frame_previous)?;
    }
    Ok(frames)
}

/// 3.9/3.10: finds the main thread's state (its `pthread_t` is `_PyRuntime.main_thread`) and
/// follows its `PyFrameObject`s through `f_back`.
fn main_thread_frame_objects(
    layout: &FrameObjectLayout,
    pid: u32,
    memory: &dyn ProcessMemory,
    runtime: u64,
    limit: usize,
) -> Result<Vec<PyFrame>, InjectError> {
    let read = |address: u64| memory.read_u64(address).map_err(|e| memory_error(pid, "read the memory of", e));
    let main = read(runtime + layout.main_thread)?;
    let interp = read(runtime + layout.interpreters_head)?;
    let mut thread = if interp == 0 { 0 } else { read(interp + layout.threads_head)? };
    let mut steps = 0;
    while thread != 0 && read(thread + layout.thread_id)? != main {
        steps += 1;
        if steps > 4096 {
            thread = 0;
            break;
        }
        thread = read(thread + layout.thread_next)?;
    }
    if thread == 0 {
        return Err(InjectError::BadLayout { pid, what: "cannot read its Python stack: no thread state for the main thread".into() });
    }
    let objects = &layout.objects;
    let mut frames = Vec::new();
    let mut frame = read(thread + layout.thread_frame)?;
    steps = 0;
    while frame != 0 && frames.len() < limit && steps < 4096 {
        steps += 1;
        if type_name(objects, memory, frame).as_deref() != Some("frame") {
            break;
        }
        let code = read(frame + layout.frame_code)?;
        if type_name(objects, memory, code).as_deref() != Some("code") {
            break;
        }
        let line = (|| {
            let first_line = memory.read_u32(code + layout.code_firstlineno).ok()? as i32;
            let lasti = i64::from(memory.read_u32(frame + layout.frame_lasti).ok()? as i32);
            let bytes = bytes_object(objects, memory, memory.read_u64(code + layout.code_lines).ok()?)?;
            match layout.lines {
                LineNumbers::Lnotab => linetable::line_at_lnotab(&bytes, first_line, lasti),
                LineNumbers::LineTable310 => linetable::line_at_310(&bytes, first_line, lasti.saturating_mul(2)),
            }
        })();
        frames.push(PyFrame {
            function: text_field(objects, memory, code, layout.code_name),
            file: text_field(objects, memory, code, layout.code_filename),
            line,
        });
        frame = read(frame + layout.frame_back)?;
    }
    Ok(frames)
}

fn code_frame(layout: &StackLayout, memory: &dyn ProcessMemory, frame: u64, code: u64) -> PyFrame {
    let line = (|| {
        let first_line = memory.read_u32(code + layout.code_firstlineno).ok()? as i32;
        let instr = memory.read_u64(frame + layout.frame_instr).ok()?;
        let index = instr.checked_sub(code + layout.code_adaptive)? / 2;
        let bytes = bytes_object(layout, memory, memory.read_u64(code + layout.code_linetable).ok()?)?;
        linetable::line_at(&bytes, first_line, index as usize)
    })();
    PyFrame {
        function: text_field(layout, memory, code, layout.code_qualname),
        file: text_field(layout, memory, code, layout.code_filename),
        line,
    }
}

/// The `str` an object's field points to (a code object's name or file), `?` when unreadable.
fn text_field(o: &StackLayout, memory: &dyn ProcessMemory, object: u64, field: u64) -> String {
    memory
        .read_u64(object + field)
        .ok()
        .and_then(|address| unicode(o, memory, address))
        .unwrap_or_else(|| "?".into())
}

/// The contents of a `bytes` object (a line table), when it is under 1 MiB.
fn bytes_object(o: &StackLayout, memory: &dyn ProcessMemory, object: u64) -> Option<Vec<u8>> {
    let size = memory.read_u64(object + o.bytes_size).ok()?;
    if size > 1 << 20 {
        return None;
    }
    memory.read_vec(object + o.bytes_data, size as usize).ok()
}

/// `type(obj).__name__` as the C string `tp_name`.
fn type_name(o: &StackLayout, memory: &dyn ProcessMemory, object: u64) -> Option<String> {
    let ty = memory.read_u64(object + o.object_type).ok()?;
    let name = memory.read_u64(ty + o.type_name).ok()?;
    let bytes = memory.read_vec(name, 32).ok()?;
    let end = bytes.iter().position(|b| *b == 0)?;
    String::from_utf8(bytes[..end].to_vec()).ok()
}

/// Reads a `str` object (compact forms only; others are not worth the risk here).
fn unicode(o: &StackLayout, memory: &dyn ProcessMemory, object: u64) -> Option<String> {
    let state = memory.read_u32(object + o.unicode_state).ok()?;
    let length = memory.read_u64(object + o.unicode_length).ok()?;
    if length > 4096 {
        return None;
    }
    // Free-threaded builds keep `interned` in a byte of its own before the bit field.
    let bits = if o.free_threaded { state >> 8 } else { state >> 2 };
    let (kind, compact, ascii) = (bits & 0b111, (bits >> 3) & 1 == 1, (bits >> 4) & 1 == 1);
    if !compact {
        return None;
    }
    let length = length as usize;
    if ascii {
        let bytes = memory.read_vec(object + o.unicode_ascii_size, length).ok()?;
        return String::from_utf8(bytes).ok();
    }
    let data = object + o.unicode_compact_size;
    match kind {
        1 => Some(memory.read_vec(data, length).ok()?.iter().map(|b| char::from(*b)).collect()),
        2 => {
            let bytes = memory.read_vec(data, length * 2).ok()?;
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_ne_bytes([c[0], c[1]])).collect();
            Some(String::from_utf16_lossy(&units))
        }
        4 => {
            let bytes = memory.read_vec(data, length * 4).ok()?;
            Some(
                bytes
                    .chunks_exact(4)
                    .map(|c| char::from_u32(u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('?'))
                    .collect(),
            )
        }
        _ => None,
    }
}
