//! CPython's `_Py_DebugOffsets`: the table at the very start of `_PyRuntime` that tells a
//! debugger where every field it needs lives in this particular build.
//!
//! The table begins with the cookie `xdebugpy`, `PY_VERSION_HEX` and a free-threaded flag
//! (3.13+; 3.12 has the section but no cookie). Then come groups of `u64` offsets; their order
//! is fixed per minor version. borescope reads the 3.14 order (760 bytes): every address it
//! computes later is `base + offset read from this table`, never a number from a header.

use crate::layout::{CurrentFrame, StackLayout};
use std::fmt;

/// The cookie every table starts with.
pub const COOKIE: &[u8; 8] = b"xdebugpy";

/// Size of the 3.14 table in bytes (19 groups of `u64` after the 24-byte header).
pub const TABLE_SIZE_3_14: usize = 760;

/// A CPython version, decoded from `PY_VERSION_HEX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PythonVersion {
    /// 3.
    pub major: u8,
    /// 14.
    pub minor: u8,
    /// Patch level.
    pub micro: u8,
    /// 0xA alpha, 0xB beta, 0xC release candidate, 0xF final; 0 when only major.minor is
    /// known (read from a file name).
    pub level: u8,
    /// Pre-release serial.
    pub serial: u8,
}

impl PythonVersion {
    /// Decodes `PY_VERSION_HEX`.
    pub fn from_hex(hex: u64) -> PythonVersion {
        PythonVersion {
            major: ((hex >> 24) & 0xff) as u8,
            minor: ((hex >> 16) & 0xff) as u8,
            micro: ((hex >> 8) & 0xff) as u8,
            level: ((hex >> 4) & 0xf) as u8,
            serial: (hex & 0xf) as u8,
        }
    }

    /// A version known only as major.minor (from a file name); it prints as `3.9`.
    pub fn minor_only(major: u8, minor: u8) -> PythonVersion {
        PythonVersion { major, minor, micro: 0, level: 0, serial: 0 }
    }

    /// True for 3.14 and later.
    pub fn has_remote_debugging(&self) -> bool {
        (self.major, self.minor) >= (3, 14)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.level == 0 {
            return write!(f, "{}.{}", self.major, self.minor);
        }
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)?;
        match self.level {
            0xa => write!(f, "a{}", self.serial),
            0xb => write!(f, "b{}", self.serial),
            0xc => write!(f, "rc{}", self.serial),
            _ => Ok(()),
        }
    }
}

/// The header every table (3.13+) starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The interpreter's version.
    pub version: PythonVersion,
    /// A free-threaded (no-GIL) build.
    pub free_threaded: bool,
}

/// Reads the header, or `None` when the bytes do not start with the cookie.
pub fn header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < 24 || &bytes[..8] != COOKIE {
        return None;
    }
    Some(Header {
        version: PythonVersion::from_hex(u64_at(bytes, 8)?),
        free_threaded: u64_at(bytes, 16)? != 0,
    })
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes)
}

/// The offsets borescope uses, from a 3.14 table: where a stack walk goes ([`StackLayout`],
/// shared with older versions' layouts) and what PEP 768 arming writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebugOffsets {
    /// Version and build flavour.
    pub header: Header,
    /// Runtime, interpreter, thread, frame, code and object offsets for walking stacks.
    pub stack: StackLayout,
    /// `PyInterpreterState.threads.main`.
    pub threads_main: u64,
    /// `PyThreadState.eval_breaker`.
    pub eval_breaker: u64,
    /// `PyThreadState.remote_debugger_support`.
    pub remote_debugger_support: u64,
    /// `PyInterpreterState.config.remote_debug`.
    pub remote_debugging_enabled: u64,
    /// `_PyRemoteDebuggerSupport.debugger_pending_call`.
    pub debugger_pending_call: u64,
    /// `_PyRemoteDebuggerSupport.debugger_script_path`.
    pub debugger_script_path: u64,
    /// Size of the script path buffer (512).
    pub debugger_script_path_size: u64,
}

/// Why a table could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableProblem {
    /// No cookie: Python 3.12 or older, or not a table at all.
    NoCookie,
    /// A version whose table layout borescope does not know.
    Unsupported(Header),
    /// The values make no sense for this layout.
    Implausible(String),
}

impl DebugOffsets {
    /// Parses a 3.14 table; `bytes` must hold at least [`TABLE_SIZE_3_14`] bytes.
    pub fn parse(bytes: &[u8]) -> Result<DebugOffsets, TableProblem> {
        let header = header(bytes).ok_or(TableProblem::NoCookie)?;
        if (header.version.major, header.version.minor) != (3, 14) {
            return Err(TableProblem::Unsupported(header));
        }
        if bytes.len() < TABLE_SIZE_3_14 {
            return Err(TableProblem::Implausible(format!("the table is {} bytes, expected {TABLE_SIZE_3_14}", bytes.len())));
        }
        let at = |offset: usize| u64_at(bytes, offset).unwrap_or(u64::MAX);
        let offsets = DebugOffsets {
            header,
            stack: StackLayout {
                free_threaded: header.free_threaded,
                interpreters_head: at(40),
                threads_head: at(72),
                thread_next: at(192),
                thread_native_id: at(224),
                current_frame: CurrentFrame::Direct(at(208)),
                frame_previous: at(256),
                frame_code: at(264),
                frame_instr: at(272),
                frame_owner: at(288),
                code_filename: at(320),
                code_qualname: at(336),
                code_linetable: at(344),
                code_firstlineno: at(352),
                code_adaptive: at(384),
                object_type: at(408),
                type_name: at(424),
                bytes_size: at(600),
                bytes_data: at(608),
                unicode_state: at(624),
                unicode_length: at(632),
                unicode_ascii_size: at(640),
                unicode_compact_size: at(640).saturating_add(16),
            },
            threads_main: at(80),
            eval_breaker: at(712),
            remote_debugger_support: at(720),
            remote_debugging_enabled: at(728),
            debugger_pending_call: at(736),
            debugger_script_path: at(744),
            debugger_script_path_size: at(752),
        };
        offsets.check(at(48), at(176))?;
        Ok(offsets)
    }

    /// Sanity checks that catch a layout borescope misreads (a pre-release with another
    /// order, a corrupted table) before anything is written.
    fn check(&self, interp_size: u64, thread_size: u64) -> Result<(), TableProblem> {
        let bad = |what: String| Err(TableProblem::Implausible(what));
        if self.debugger_script_path_size != 512 {
            return bad(format!("script path buffer of {} bytes (expected 512)", self.debugger_script_path_size));
        }
        if !(64..1 << 20).contains(&interp_size) || !(64..1 << 16).contains(&thread_size) {
            return bad(format!("interpreter state of {interp_size} bytes, thread state of {thread_size}"));
        }
        if self.remote_debugging_enabled + 4 > interp_size
            || self.threads_main + 8 > interp_size
            || self.remote_debugger_support + self.debugger_script_path + 512 > thread_size
            || self.eval_breaker + 8 > thread_size
            || self.stack.thread_native_id + 8 > thread_size
        {
            return bad("offsets point outside the structures they belong to".into());
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 3.14 table with the values read from Debian's CPython 3.14.10 (x86_64).
    pub fn table_3_14() -> Vec<u8> {
        let mut bytes = vec![0u8; TABLE_SIZE_3_14];
        bytes[..8].copy_from_slice(COOKIE);
        let mut put = |at: usize, value: u64| bytes[at..at + 8].copy_from_slice(&value.to_ne_bytes());
        put(8, 0x030e0af0);
        for (at, value) in [
            (24, 316616), (32, 784), (40, 808), (48, 225864), (56, 7280), (64, 7272), (72, 7344),
            (80, 7360), (176, 832), (184, 0), (192, 8), (200, 16), (208, 72), (216, 152), (224, 160),
            (248, 88), (256, 8), (264, 0), (272, 56), (280, 80), (288, 74), (312, 216), (320, 112),
            (328, 120), (336, 128), (344, 136), (352, 68), (384, 208), (400, 16), (408, 8), (416, 416),
            (424, 24), (592, 40), (600, 16), (608, 32), (616, 64), (624, 32), (632, 16), (640, 40),
            (712, 24), (720, 304), (728, 8076), (736, 0), (744, 4), (752, 512),
        ] {
            put(at, value);
        }
        bytes
    }

    #[test]
    fn parses_a_real_3_14_table() {
        let offsets = DebugOffsets::parse(&table_3_14()).expect("valid table");
        assert_eq!(offsets.header.version.to_string(), "3.14.10");
        assert!(!offsets.header.free_threaded);
        assert_eq!((offsets.stack.interpreters_head, offsets.threads_main), (808, 7360));
        assert_eq!((offsets.remote_debugger_support, offsets.remote_debugging_enabled), (304, 8076));
    }

    #[test]
    fn refuses_other_versions_and_nonsense() {
        let mut table = table_3_14();
        table[8..16].copy_from_slice(&0x030d05f0u64.to_ne_bytes());
        assert!(matches!(DebugOffsets::parse(&table), Err(TableProblem::Unsupported(h)) if h.version.minor == 13));
        let mut table = table_3_14();
        table[752..760].copy_from_slice(&256u64.to_ne_bytes());
        assert!(matches!(DebugOffsets::parse(&table), Err(TableProblem::Implausible(_))));
        assert_eq!(DebugOffsets::parse(&[0u8; 760]), Err(TableProblem::NoCookie));
    }

    #[test]
    fn versions_print_like_python() {
        assert_eq!(PythonVersion::from_hex(0x030e00c2).to_string(), "3.14.0rc2");
        assert!(PythonVersion::from_hex(0x030e00f0).has_remote_debugging());
        assert!(!PythonVersion::minor_only(3, 11).has_remote_debugging());
        assert_eq!(PythonVersion::minor_only(3, 9).to_string(), "3.9", "no made-up patch level");
    }
}
