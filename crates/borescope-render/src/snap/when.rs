//! Times as people read them: UTC dates from Unix milliseconds, and spans relative to now
//! (`3s ago`, `in 45m`). "Now" is always passed in, so the same data renders the same text.

use borescope_snapshots_api::duration::format_secs;

/// `2025-01-02 10:11:12 UTC`.
pub(crate) fn utc(ms: i64) -> String {
    let (date, time) = parts(ms);
    format!("{date} {time} UTC")
}

/// `2025-01-02 10:11:12.345 UTC`.
pub(crate) fn utc_millis(ms: i64) -> String {
    let (date, time) = parts(ms);
    format!("{date} {time}.{:03} UTC", ms.rem_euclid(1000))
}

/// `3s ago`, `2h5m ago`, `just now`; a time after now reads `in 5m`.
pub(crate) fn ago(then_ms: i64, now_ms: i64) -> String {
    let diff = now_ms.saturating_sub(then_ms);
    if diff < 0 {
        return format!("in {}", span(diff.unsigned_abs() / 1000));
    }
    if diff < 1000 {
        return "just now".to_string();
    }
    format!("{} ago", span(diff.unsigned_abs() / 1000))
}

/// `in 45m`, or `5m ago` for a time already past.
pub(crate) fn until(then_ms: i64, now_ms: i64) -> String {
    if then_ms >= now_ms {
        let secs = (then_ms - now_ms).unsigned_abs().div_ceil(1000);
        return format!("in {}", span(secs));
    }
    ago(then_ms, now_ms)
}

/// The two largest units of a duration: `1h30m`, `2d3h`, `45s`.
fn span(secs: u64) -> String {
    let text = format_secs(secs);
    let mut units = 0;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphabetic() {
            units += 1;
            if units == 2 {
                end = i + 1;
                break;
            }
        }
    }
    text[..end].to_string()
}

/// (`YYYY-MM-DD`, `HH:MM:SS`) of a Unix millisecond, in UTC.
fn parts(ms: i64) -> (String, String) {
    borescope_model::calendar::utc_date_and_time(ms.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_millis(1_735_812_672_345), "2025-01-02 10:11:12.345 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn spans_keep_two_units() {
        assert_eq!(ago(0, 3000), "3s ago");
        assert_eq!(ago(0, 500), "just now");
        assert_eq!(ago(0, (2 * 86_400 + 3 * 3600 + 4 * 60 + 5) * 1000), "2d3h ago");
        assert_eq!(until(3_600_000, 0), "in 1h");
        assert_eq!(until(2_700_500, 0), "in 45m1s");
        assert_eq!(until(0, 60_000), "1m ago");
        assert_eq!(ago(60_000, 0), "in 1m");
    }
}
