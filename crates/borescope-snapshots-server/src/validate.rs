//! Checking what clients send before anything is stored: names, a new probe's fields against
//! the documented limits (expressions through the safe-subset check), an agent's registration,
//! a probe's reported source, and long-poll waits. Each refusal is one line naming the field and the fix.

use crate::error::ApiError;
use crate::store::probes::ProbeRecord;
use borescope_snapshots_api::agent::{ProbeSource, Register};
use borescope_snapshots_api::expr;
use borescope_snapshots_api::limits;
use borescope_snapshots_api::people::NewProbe;

/// Longest service or environment name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest file name in a probe.
pub const MAX_FILE_LEN: usize = 1024;
/// Longest free-text field an agent sends (host, versions, engine, instance id).
pub const MAX_FIELD_LEN: usize = 256;

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

/// A service or environment name: 1-64 of `A-Z a-z 0-9 . _ -`.
pub fn name(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        return Ok(());
    }
    Err(bad(format!(
        "{field} `{value}` is not a valid name: use 1-{MAX_NAME_LEN} letters, digits, `.`, `_` or `-`"
    )))
}

fn text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(bad(format!("{field} is empty")));
    }
    if value.len() > max || value.chars().any(char::is_control) {
        return Err(bad(format!("{field} must be one line of at most {max} characters")));
    }
    Ok(())
}

/// A new probe, with defaults filled in.
pub fn new_probe(probe: NewProbe) -> Result<ProbeRecord, ApiError> {
    name("service", &probe.service)?;
    if let Some(env) = &probe.env {
        name("env", env)?;
    }
    text("file", &probe.file, MAX_FILE_LEN)?;
    if probe.line == 0 {
        return Err(bad("line must be 1 or more (lines count from 1)".into()));
    }
    if let Some(condition) = &probe.condition {
        expr::check_expression(condition).map_err(|e| bad(format!("condition `{condition}`: {e}")))?;
    }
    if probe.captures.len() > limits::MAX_CAPTURES {
        return Err(bad(format!("at most {} capture expressions per probe", limits::MAX_CAPTURES)));
    }
    for capture in &probe.captures {
        expr::check_expression(capture).map_err(|e| bad(format!("capture `{capture}`: {e}")))?;
    }
    if let Some(log) = &probe.log {
        expr::check_template(log).map_err(|e| bad(format!("log template `{log}`: {e}")))?;
        if !probe.captures.is_empty() {
            return Err(bad(
                "a logpoint (log) records only its message: drop the capture expressions or the log template".into(),
            ));
        }
    }
    if probe.max_hits == Some(0) {
        return Err(bad("max_hits must be 1 or more (leave it out for no limit)".into()));
    }
    let default_rate = if probe.log.is_some() { limits::DEFAULT_LOG_RATE } else { limits::DEFAULT_SNAPSHOT_RATE };
    let rate = probe.rate.unwrap_or(default_rate);
    if !rate.is_finite() || rate <= 0.0 || rate > limits::MAX_RATE {
        return Err(bad(format!("rate {rate} must be more than 0 and at most {} per second", limits::MAX_RATE)));
    }
    let ttl = probe.ttl_secs.unwrap_or(limits::DEFAULT_TTL_SECS);
    if ttl == 0 || ttl > limits::MAX_TTL_SECS {
        return Err(bad(format!(
            "ttl_secs {ttl} must be between 1 and {} (24 hours)",
            limits::MAX_TTL_SECS
        )));
    }
    let frames = probe.frames_with_locals.unwrap_or(limits::DEFAULT_FRAMES_WITH_LOCALS);
    if frames > limits::MAX_FRAMES_WITH_LOCALS {
        return Err(bad(format!(
            "frames_with_locals {frames} must be at most {}",
            limits::MAX_FRAMES_WITH_LOCALS
        )));
    }
    Ok(ProbeRecord {
        service: probe.service,
        env: probe.env,
        file: probe.file,
        line: probe.line,
        condition: probe.condition,
        captures: probe.captures,
        log: probe.log,
        max_hits: probe.max_hits,
        rate,
        frames_with_locals: frames,
        ttl_ms: i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX),
    })
}

/// An instance id: 1-256 of `A-Z a-z 0-9 _ -`.
pub fn instance_id(value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_FIELD_LEN
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        return Ok(());
    }
    Err(bad(format!("instance_id `{value}` is not valid: use letters, digits, `_` or `-` (32 hex characters)")))
}

/// An upload's batch id (the agent's random id for one batch, sent again on retry).
pub fn batch_id(value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty() && value.len() <= 64 && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        return Ok(());
    }
    Err(bad(format!("batch `{value}` is not valid: use 1 to 64 letters, digits, `_` or `-`")))
}

/// An agent's registration.
pub fn register(register: &Register) -> Result<(), ApiError> {
    instance_id(&register.instance_id)?;
    name("service", &register.service)?;
    if let Some(env) = &register.env {
        name("env", env)?;
    }
    text("host", &register.host, MAX_FIELD_LEN)?;
    text("python", &register.python, MAX_FIELD_LEN)?;
    text("agent_version", &register.agent_version, MAX_FIELD_LEN)?;
    text("engine", &register.engine, MAX_FIELD_LEN)?;
    Ok(())
}

/// A probe's source lines, as an agent reports them: within the documented caps.
pub fn source(probe_id: i64, source: &ProbeSource) -> Result<(), ApiError> {
    let bytes: usize = source.lines.iter().map(String::len).sum();
    if source.lines.len() > limits::MAX_SOURCE_LINES
        || source.lines.iter().any(|l| l.chars().count() > limits::MAX_SOURCE_LINE_CHARS)
        || bytes > limits::MAX_SOURCE_BYTES
    {
        return Err(bad(format!(
            "the source for probe {probe_id} is over the limit: at most {} lines of {} characters, {} bytes in all",
            limits::MAX_SOURCE_LINES,
            limits::MAX_SOURCE_LINE_CHARS,
            limits::MAX_SOURCE_BYTES
        )));
    }
    if source.first_line == 0 || source.path.is_empty() || source.path.len() > MAX_FILE_LEN {
        return Err(bad(format!("the source for probe {probe_id} needs a path (at most {MAX_FILE_LEN} bytes) and a first_line from 1")));
    }
    Ok(())
}

/// A long-poll wait in seconds (absent: answer at once).
pub fn wait(wait: Option<u64>) -> Result<std::time::Duration, ApiError> {
    let secs = wait.unwrap_or(0);
    if secs > limits::MAX_WAIT_SECS {
        return Err(bad(format!("wait={secs} is too long: at most {} seconds", limits::MAX_WAIT_SECS)));
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> NewProbe {
        NewProbe { service: "api".into(), file: "app.py".into(), line: 3, ..NewProbe::default() }
    }

    fn refused(probe: NewProbe) -> String {
        match new_probe(probe) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("expected a 400, got {:?}", other.map(|r| r.file)),
        }
    }

    #[test]
    fn fills_defaults() {
        let record = new_probe(probe()).unwrap();
        assert_eq!(record.rate, 1.0);
        assert_eq!(record.ttl_ms, 3_600_000);
        assert_eq!(record.frames_with_locals, 1);
        let log = new_probe(NewProbe { log: Some("x={x}".into()), ..probe() }).unwrap();
        assert_eq!(log.rate, 100.0);
    }

    #[test]
    fn refuses_out_of_range_fields() {
        assert_eq!(
            refused(NewProbe { service: "a b".into(), ..probe() }),
            "service `a b` is not a valid name: use 1-64 letters, digits, `.`, `_` or `-`"
        );
        assert_eq!(refused(NewProbe { line: 0, ..probe() }), "line must be 1 or more (lines count from 1)");
        assert_eq!(refused(NewProbe { file: " ".into(), ..probe() }), "file is empty");
        assert_eq!(
            refused(NewProbe { condition: Some("x.__class__".into()), ..probe() }),
            "condition `x.__class__`: names starting with __ are not allowed: x.__class__"
        );
        assert_eq!(
            refused(NewProbe { captures: vec!["open(p)".into()], ..probe() }),
            "capture `open(p)`: calls are not allowed except len, str, int, float, bool, isinstance: open(...)"
        );
        assert_eq!(
            refused(NewProbe { log: Some("{x".into()), ..probe() }),
            "log template `{x`: a `{` is never closed: end each expression with `}`, or write `{{` for a literal brace at column 1"
        );
        assert!(refused(NewProbe { log: Some("{x}".into()), captures: vec!["y".into()], ..probe() }).starts_with("a logpoint"));
        assert!(refused(NewProbe { max_hits: Some(0), ..probe() }).starts_with("max_hits must be 1"));
        assert!(refused(NewProbe { rate: Some(f64::NAN), ..probe() }).starts_with("rate NaN"));
        assert!(refused(NewProbe { rate: Some(0.0), ..probe() }).starts_with("rate 0"));
        assert!(refused(NewProbe { ttl_secs: Some(86_401), ..probe() }).starts_with("ttl_secs 86401 must be between 1 and 86400"));
        assert!(refused(NewProbe { frames_with_locals: Some(11), ..probe() }).starts_with("frames_with_locals 11"));
        assert!(refused(NewProbe { captures: vec!["x".into(); 21], ..probe() }).starts_with("at most 20"));
    }
}
