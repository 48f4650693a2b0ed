//! Live snapshots (`borescope snap`) as text: probes (created, listed, in detail), the agents a server knows,
//! agent keys, `snap attach`, a service's exception-snapshot setting, and snapshots themselves
//! (probe and exception snapshots), each printed with the stop formatter
//! (a snapshot becomes a [`Stop`](borescope_model::Stop) with a header saying which snapshot,
//! where it came from and when).
//!
//! Times relative to now (`3s ago`, `in 45m`) are computed from a `now_ms` the caller passes,
//! so the same data always renders the same text.

mod agents;
mod exceptions;
mod hits;
mod probes;
mod when;

pub use agents::{render_snap_attach, render_snap_instances, render_snap_key_created, render_snap_keys};
pub use exceptions::render_snap_service;
pub use hits::{render_snapshot, render_snapshots, snapshot_stop};
pub use probes::{render_snap_added, render_snap_probe, render_snap_probes};

/// Lays out rows under headers, columns padded to their widest cell; the last column is not
/// padded and trailing spaces are trimmed.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = *width));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// `1/s`, `0.5/s`, `100/s`.
pub(crate) fn rate(per_sec: f64) -> String {
    if per_sec.fract() == 0.0 && per_sec.abs() < 1e15 {
        format!("{}/s", per_sec as i64)
    } else {
        format!("{per_sec}/s")
    }
}

#[cfg(test)]
mod tests;
