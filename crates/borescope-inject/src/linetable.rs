//! Decoding CPython's location tables to turn an instruction's position into a line number:
//! [`line_at`] for 3.11+ (`co_linetable`), [`line_at_lnotab`] for 3.9 and [`line_at_310`] for
//! 3.10's first `co_linetable` form.
//!
//! The 3.11+ table:
//! The table is a sequence of entries. The first byte of each has the high bit set, a 4-bit
//! kind and the entry's length in code units minus one; the kind says how the line changes:
//! 15 no location, 14 long form (signed varint delta plus end line and columns), 13 delta
//! only, 10-12 delta `kind - 10` plus two column bytes, 0-9 same line plus one column byte.
//! Varints are little-endian 6-bit groups with `0x40` as the continuation bit.

/// The line of the instruction at `index` (in code units), or `None` when it has no location.
pub fn line_at(table: &[u8], first_line: i32, index: usize) -> Option<i32> {
    let mut reader = Reader { bytes: table, at: 0 };
    let mut line = first_line;
    let mut address = 0usize;
    while let Some(first) = reader.byte() {
        if first & 0x80 == 0 {
            return None; // not at an entry start: corrupt or misread
        }
        let kind = (first >> 3) & 0x0f;
        let length = usize::from(first & 0x07) + 1;
        let here = match kind {
            15 => None,
            14 => {
                line += reader.signed()?;
                reader.unsigned()?; // end line delta
                reader.unsigned()?; // column + 1
                reader.unsigned()?; // end column + 1
                Some(line)
            }
            13 => {
                line += reader.signed()?;
                Some(line)
            }
            10..=12 => {
                line += i32::from(kind) - 10;
                reader.byte()?;
                reader.byte()?;
                Some(line)
            }
            _ => {
                reader.byte()?;
                Some(line)
            }
        };
        if (address..address + length).contains(&index) {
            return here;
        }
        address += length;
    }
    None
}

/// 3.9: the line of the instruction at byte `offset`. `co_lnotab` is a list of (bytes
/// advanced, signed lines advanced) pairs; the line is the one in force at `offset`.
pub fn line_at_lnotab(table: &[u8], first_line: i32, offset: i64) -> Option<i32> {
    let mut line = first_line;
    let mut address = 0i64;
    for pair in table.chunks_exact(2) {
        address += i64::from(pair[0]);
        if address > offset {
            break;
        }
        line += i32::from(pair[1] as i8);
    }
    Some(line)
}

/// 3.10: the line of the instruction at byte `offset`. Each (bytes covered, signed line delta)
/// pair covers the next range of bytes; a delta of -128 means the range has no line.
pub fn line_at_310(table: &[u8], first_line: i32, offset: i64) -> Option<i32> {
    if offset < 0 {
        return Some(first_line);
    }
    let mut line = first_line;
    let mut end = 0i64;
    for pair in table.chunks_exact(2) {
        let start = end;
        end += i64::from(pair[0]);
        let delta = pair[1] as i8;
        let here = if delta == -128 {
            None
        } else {
            line += i32::from(delta);
            Some(line)
        };
        if (start..end).contains(&offset) {
            return here;
        }
    }
    None
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn unsigned(&mut self) -> Option<u32> {
        let mut value = 0u32;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            value |= u32::from(byte & 0x3f).checked_shl(shift)?;
            if byte & 0x40 == 0 {
                return Some(value);
            }
            shift += 6;
        }
    }

    fn signed(&mut self) -> Option<i32> {
        let raw = self.unsigned()?;
        let magnitude = (raw >> 1) as i32;
        Some(if raw & 1 == 1 { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_entry_kind() {
        let table = [
            0x80 | (15 << 3),                  // 1 unit, no location (RESUME-like)
            0x80 | (13 << 3) | 1, 0x04,        // 2 units, line +2 (delta 4 >> 1)
            0x80 | (11 << 3), 5, 9,            // 1 unit, line +1, columns
            0x80 | (3 << 3) | 2, 7,            // 3 units, same line
            0x80 | (14 << 3), 0x03, 0, 1, 5,   // 1 unit, long form: line -1
        ];
        assert_eq!(line_at(&table, 10, 0), None);
        assert_eq!(line_at(&table, 10, 1), Some(12));
        assert_eq!(line_at(&table, 10, 2), Some(12));
        assert_eq!(line_at(&table, 10, 3), Some(13));
        assert_eq!(line_at(&table, 10, 6), Some(13));
        assert_eq!(line_at(&table, 10, 7), Some(12));
        assert_eq!(line_at(&table, 10, 8), None, "past the end");
    }

    #[test]
    fn reads_39_lnotab() {
        // Line 5 from byte 0, line 7 from byte 6, line 6 from byte 10 (a negative step).
        let table = [6, 2, 4, 0xff];
        assert_eq!(line_at_lnotab(&table, 5, 0), Some(5));
        assert_eq!(line_at_lnotab(&table, 5, 4), Some(5));
        assert_eq!(line_at_lnotab(&table, 5, 6), Some(7));
        assert_eq!(line_at_lnotab(&table, 5, 10), Some(6));
        assert_eq!(line_at_lnotab(&table, 5, 400), Some(6));
    }

    #[test]
    fn reads_310_linetable() {
        // Bytes 0-1 on the first line, 2-7 two lines on, 8-9 no line, 10-13 one line back.
        let table = [2, 0, 6, 2, 2, 0x80, 4, 0xff];
        assert_eq!(line_at_310(&table, 5, -2), Some(5));
        assert_eq!(line_at_310(&table, 5, 0), Some(5));
        assert_eq!(line_at_310(&table, 5, 2), Some(7));
        assert_eq!(line_at_310(&table, 5, 7), Some(7));
        assert_eq!(line_at_310(&table, 5, 8), None);
        assert_eq!(line_at_310(&table, 5, 12), Some(6));
        assert_eq!(line_at_310(&table, 5, 14), None, "past the end");
    }

    #[test]
    fn garbage_is_not_a_line() {
        assert_eq!(line_at(&[0x01, 0x02], 1, 0), None);
        assert_eq!(line_at(&[0x80 | (13 << 3)], 1, 0), None, "truncated varint");
    }
}
