//! Where a Python stack lives in memory, per interpreter version: enough of `_PyRuntime`,
//! the interpreter and thread states, frames, code, `str` and `bytes` objects to walk a
//! thread's frames the way a sampling profiler does ([`crate::stack`]).
//!
//! 3.14 and 3.13 describe themselves: their `_Py_DebugOffsets` table (in a different order per
//! version) gives every offset (3.14's is parsed by [`crate::offsets`]). 3.11 and 3.12 publish nothing, so their offsets are written
//! here — those of the default (release, GIL) build on 64-bit Linux, where x86-64 and aarch64
//! share the layout — and every walk checks what it reads (the thread's own id, the `code`
//! type) so another build's layout ends the walk instead of being believed.
//!
//! 3.9 and 3.10 keep their frames in another form: heap `frame` objects linked by `f_back`,
//! line numbers in `co_lnotab` (3.9) or the first form of `co_linetable` (3.10), and thread
//! states that know their `pthread_t` but not their kernel thread id. [`FrameObjectLayout`]
//! holds their offsets, written here the same way.

use crate::offsets::{self, PythonVersion};

/// How a thread state leads to its innermost frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentFrame {
    /// A field of the thread state (3.13+).
    Direct(u64),
    /// A field of the `_PyCFrame` the thread state points to (3.11, 3.12).
    ThroughCFrame {
        /// `PyThreadState.cframe`.
        cframe: u64,
        /// `_PyCFrame.current_frame`.
        current_frame: u64,
    },
}

/// The offsets a stack walk needs, for one interpreter build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackLayout {
    /// A free-threaded build (its `str` state bits sit one byte further).
    pub free_threaded: bool,
    /// `_PyRuntimeState.interpreters.head`.
    pub interpreters_head: u64,
    /// `PyInterpreterState.threads.head`.
    pub threads_head: u64,
    /// `PyThreadState.next`.
    pub thread_next: u64,
    /// `PyThreadState.native_thread_id`.
    pub thread_native_id: u64,
    /// The way to the innermost `_PyInterpreterFrame`.
    pub current_frame: CurrentFrame,
    /// `_PyInterpreterFrame.previous`.
    pub frame_previous: u64,
    /// `_PyInterpreterFrame.f_executable` (3.13+; a tagged reference in 3.14) or `f_code`.
    pub frame_code: u64,
    /// `_PyInterpreterFrame.instr_ptr` (3.13+) or `prev_instr` (3.11, 3.12).
    pub frame_instr: u64,
    /// `_PyInterpreterFrame.owner` (one byte).
    pub frame_owner: u64,
    /// `PyCodeObject.co_filename`.
    pub code_filename: u64,
    /// `PyCodeObject.co_qualname`.
    pub code_qualname: u64,
    /// `PyCodeObject.co_linetable`.
    pub code_linetable: u64,
    /// `PyCodeObject.co_firstlineno` (an `int`).
    pub code_firstlineno: u64,
    /// `PyCodeObject.co_code_adaptive` (the bytecode, inline).
    pub code_adaptive: u64,
    /// `PyObject.ob_type`.
    pub object_type: u64,
    /// `PyTypeObject.tp_name`.
    pub type_name: u64,
    /// `PyBytesObject.ob_size`.
    pub bytes_size: u64,
    /// `PyBytesObject.ob_sval`.
    pub bytes_data: u64,
    /// `PyASCIIObject.state` (bit field).
    pub unicode_state: u64,
    /// `PyASCIIObject.length`.
    pub unicode_length: u64,
    /// `sizeof(PyASCIIObject)`: where compact ASCII text starts.
    pub unicode_ascii_size: u64,
    /// `sizeof(PyCompactUnicodeObject)`: where other compact text starts.
    pub unicode_compact_size: u64,
}

impl StackLayout {
    /// True when `instr` points at the instruction executed last (3.11, 3.12) rather than the
    /// one executing.
    pub fn instr_is_previous(&self) -> bool {
        matches!(self.current_frame, CurrentFrame::ThroughCFrame { .. })
    }
}

/// Size of the 3.13 `_Py_DebugOffsets` table.
pub const TABLE_SIZE_3_13: usize = 584;

/// The layout of `version`; `table` holds the first [`TABLE_SIZE_3_13`] bytes of `_PyRuntime`
/// for 3.13 (its debug offsets). `None` for versions whose frames borescope does not read.
pub fn for_version(version: PythonVersion, table: Option<&[u8]>) -> Option<StackLayout> {
    match (version.major, version.minor) {
        (3, 11) => Some(LAYOUT_3_11),
        (3, 12) => Some(LAYOUT_3_12),
        (3, 13) => from_3_13_table(table?),
        _ => None,
    }
}

/// Reads a 3.13 table (the 3.14 one is [`DebugOffsets`]).
fn from_3_13_table(bytes: &[u8]) -> Option<StackLayout> {
    let header = offsets::header(bytes)?;
    if (header.version.major, header.version.minor) != (3, 13) || bytes.len() < TABLE_SIZE_3_13 {
        return None;
    }
    let at = |offset: usize| bytes.get(offset..offset + 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes);
    let layout = StackLayout {
        free_threaded: header.free_threaded,
        interpreters_head: at(40)?,
        threads_head: at(72)?,
        thread_next: at(168)?,
        thread_native_id: at(200)?,
        current_frame: CurrentFrame::Direct(at(184)?),
        frame_previous: at(232)?,
        frame_code: at(240)?,
        frame_instr: at(248)?,
        frame_owner: at(264)?,
        code_filename: at(280)?,
        code_qualname: at(296)?,
        code_linetable: at(304)?,
        code_firstlineno: at(312)?,
        code_adaptive: at(344)?,
        object_type: at(360)?,
        type_name: at(376)?,
        bytes_size: at(520)?,
        bytes_data: at(528)?,
        unicode_state: at(544)?,
        unicode_length: at(552)?,
        unicode_ascii_size: at(560)?,
        unicode_compact_size: at(560)? + 16,
    };
    // Every offset of these small structures is below a page; anything else is not a 3.13 table.
    let plausible = [layout.thread_next, layout.thread_native_id, layout.frame_owner, layout.code_adaptive, layout.unicode_ascii_size]
        .iter()
        .all(|offset| *offset < 4096);
    plausible.then_some(layout)
}

/// CPython 3.11, release build, 64-bit Linux.
const LAYOUT_3_11: StackLayout = StackLayout {
    free_threaded: false,
    interpreters_head: 40,
    threads_head: 16,
    thread_next: 8,
    thread_native_id: 160,
    current_frame: CurrentFrame::ThroughCFrame { cframe: 56, current_frame: 8 },
    frame_previous: 48,
    frame_code: 32,
    frame_instr: 56,
    frame_owner: 69,
    code_filename: 112,
    code_qualname: 128,
    code_linetable: 136,
    code_firstlineno: 72,
    code_adaptive: 184,
    object_type: 8,
    type_name: 24,
    bytes_size: 16,
    bytes_data: 32,
    unicode_state: 32,
    unicode_length: 16,
    unicode_ascii_size: 48,
    unicode_compact_size: 72,
};

/// CPython 3.12, release build, 64-bit Linux.
const LAYOUT_3_12: StackLayout = StackLayout {
    free_threaded: false,
    interpreters_head: 40,
    threads_head: 72,
    thread_next: 8,
    thread_native_id: 144,
    current_frame: CurrentFrame::ThroughCFrame { cframe: 56, current_frame: 0 },
    frame_previous: 8,
    frame_code: 0,
    frame_instr: 56,
    frame_owner: 70,
    code_filename: 112,
    code_qualname: 128,
    code_linetable: 136,
    code_firstlineno: 68,
    code_adaptive: 192,
    object_type: 8,
    type_name: 24,
    bytes_size: 16,
    bytes_data: 32,
    unicode_state: 32,
    unicode_length: 16,
    unicode_ascii_size: 40,
    unicode_compact_size: 56,
};

/// How a 3.9/3.10 code object maps instructions to lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineNumbers {
    /// 3.9's `co_lnotab`: (bytes advanced, lines advanced) pairs; `f_lasti` counts bytes.
    Lnotab,
    /// 3.10's `co_linetable`: (bytes covered, line delta or -128 for none) pairs; `f_lasti`
    /// counts two-byte code units.
    LineTable310,
}

/// The offsets a stack walk needs on CPython 3.9 and 3.10 (release build, 64-bit Linux, where
/// x86-64 and aarch64 share the layout). `str`, `bytes` and type offsets are the ones in
/// [`StackLayout`], unchanged since 3.9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameObjectLayout {
    /// `_PyRuntimeState.interpreters.head`.
    pub interpreters_head: u64,
    /// `_PyRuntimeState.main_thread` (the main thread's `pthread_t`).
    pub main_thread: u64,
    /// `PyInterpreterState.tstate_head`.
    pub threads_head: u64,
    /// `PyThreadState.next`.
    pub thread_next: u64,
    /// `PyThreadState.frame`: the innermost `PyFrameObject`.
    pub thread_frame: u64,
    /// `PyThreadState.thread_id` (its `pthread_t`).
    pub thread_id: u64,
    /// `PyFrameObject.f_back`.
    pub frame_back: u64,
    /// `PyFrameObject.f_code`.
    pub frame_code: u64,
    /// `PyFrameObject.f_lasti` (an `int`).
    pub frame_lasti: u64,
    /// `PyCodeObject.co_filename`.
    pub code_filename: u64,
    /// `PyCodeObject.co_name` (these versions have no `co_qualname`).
    pub code_name: u64,
    /// `PyCodeObject.co_firstlineno` (an `int`).
    pub code_firstlineno: u64,
    /// `PyCodeObject.co_lnotab` (3.9) or `co_linetable` (3.10).
    pub code_lines: u64,
    /// Which form that table has.
    pub lines: LineNumbers,
    /// `str`, `bytes` and type offsets (the `StackLayout` fields of the same names).
    pub objects: StackLayout,
}

/// The 3.9/3.10 layout of `version`, `None` for other versions.
pub fn frame_objects_for(version: PythonVersion) -> Option<FrameObjectLayout> {
    match (version.major, version.minor) {
        (3, 9) => Some(LAYOUT_3_9),
        (3, 10) => Some(FrameObjectLayout { frame_lasti: 96, lines: LineNumbers::LineTable310, ..LAYOUT_3_9 }),
        _ => None,
    }
}

/// CPython 3.9, release build, 64-bit Linux (3.10 differs only in `f_lasti` and its table).
const LAYOUT_3_9: FrameObjectLayout = FrameObjectLayout {
    interpreters_head: 32,
    main_thread: 72,
    threads_head: 8,
    thread_next: 8,
    thread_frame: 24,
    thread_id: 176,
    frame_back: 24,
    frame_code: 32,
    frame_lasti: 104,
    code_filename: 104,
    code_name: 112,
    code_firstlineno: 40,
    code_lines: 120,
    lines: LineNumbers::Lnotab,
    // The same object header, `str` and `bytes` layout as 3.11.
    objects: LAYOUT_3_11,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offsets::tests::table_3_14;

    #[test]
    fn the_3_14_table_gives_the_walk_offsets() {
        let offsets = crate::offsets::DebugOffsets::parse(&table_3_14()).expect("table");
        let layout = offsets.stack;
        assert_eq!(layout.current_frame, CurrentFrame::Direct(72));
        assert!(!layout.instr_is_previous());
        assert_eq!(layout.unicode_compact_size, layout.unicode_ascii_size + 16);
    }

    #[test]
    fn older_versions_have_layouts_and_3_13_needs_its_table() {
        assert!(for_version(PythonVersion::minor_only(3, 11), None).is_some_and(|l| l.instr_is_previous()));
        assert!(for_version(PythonVersion::minor_only(3, 12), None).is_some());
        assert_eq!(for_version(PythonVersion::minor_only(3, 13), None), None);
        assert_eq!(for_version(PythonVersion::minor_only(3, 10), None), None);
        assert_eq!(frame_objects_for(PythonVersion::minor_only(3, 10)).map(|l| l.lines), Some(LineNumbers::LineTable310));
        assert_eq!(frame_objects_for(PythonVersion::minor_only(3, 9)).map(|l| l.frame_lasti), Some(104));
        assert_eq!(frame_objects_for(PythonVersion::minor_only(3, 11)), None);
        let mut table = vec![0u8; TABLE_SIZE_3_13];
        table[..8].copy_from_slice(offsets::COOKIE);
        table[8..16].copy_from_slice(&0x030d05f0u64.to_ne_bytes());
        for (at, value) in [(40u64, 632u64), (72, 7344), (168, 8), (184, 72), (200, 160), (560, 40)] {
            table[at as usize..at as usize + 8].copy_from_slice(&value.to_ne_bytes());
        }
        let layout = for_version(PythonVersion::minor_only(3, 13), Some(&table)).expect("3.13");
        assert_eq!((layout.interpreters_head, layout.threads_head, layout.thread_native_id), (632, 7344, 160));
        table[8..16].copy_from_slice(&0x030c01f0u64.to_ne_bytes());
        assert_eq!(for_version(PythonVersion::minor_only(3, 13), Some(&table)), None, "a table of another version");
    }
}
