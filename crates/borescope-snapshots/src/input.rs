//! Checks on what the user typed, done before any request is sent: `FILE:LINE`, names,
//! durations, limits, and the safe expression subset (the server checks again; the agent checks
//! once more before use). Every refusal is one line naming the flag and the fix.

use crate::SnapError;
use borescope_model::Location;
use borescope_snapshots_api::people::NewProbe;
use borescope_snapshots_api::{duration, expr, limits};

/// What `snap add` (or MCP `create_snapshot`) was given, before checks.
#[derive(Debug, Clone, Default)]
pub struct ProbeInput {
    /// `FILE:LINE`, the file as the service's code names it (`orders/views.py`) or absolute.
    pub location: String,
    /// The service whose instances arm the probe.
    pub service: String,
    /// Only instances of this environment.
    pub env: Option<String>,
    /// `--if`: a safe expression.
    pub condition: Option<String>,
    /// `--capture`: safe expressions recorded with each snapshot.
    pub captures: Vec<String>,
    /// `--log`: a logpoint template.
    pub log: Option<String>,
    /// `--max-hits`.
    pub max_hits: Option<u32>,
    /// `--rate`: snapshots per second per instance.
    pub rate: Option<f64>,
    /// `--ttl`: how long the probe lives (`30m`, `2h`).
    pub ttl: Option<String>,
    /// `--frames`: frames whose locals are captured.
    pub frames: Option<u32>,
}

impl ProbeInput {
    /// Checks everything and builds the request body.
    pub fn check(&self) -> Result<NewProbe, SnapError> {
        let location = Location::parse(self.location.trim()).map_err(|e| SnapError::input(e.to_string()))?;
        let file = location.file.strip_prefix("./").unwrap_or(&location.file).to_string();
        if file.is_empty() || file.ends_with('/') {
            return Err(SnapError::input(format!("`{}` names a directory, not a file (example: orders/views.py:88)", self.location)));
        }
        check_name("--service", &self.service)?;
        if let Some(env) = &self.env {
            check_name("--env", env)?;
        }
        if let Some(condition) = &self.condition {
            check_expression("--if", condition)?;
        }
        if self.captures.len() > limits::MAX_CAPTURES {
            return Err(SnapError::input(format!(
                "{} --capture expressions given; at most {} per probe",
                self.captures.len(),
                limits::MAX_CAPTURES
            )));
        }
        for capture in &self.captures {
            check_expression("--capture", capture)?;
        }
        if let Some(log) = &self.log {
            if log.chars().count() > limits::MAX_EXPRESSION_LEN {
                return Err(SnapError::input(format!("--log is longer than {} characters", limits::MAX_EXPRESSION_LEN)));
            }
            expr::check_template(log).map_err(|e| SnapError::input(format!("--log `{log}`: {e}")))?;
            if !self.captures.is_empty() || self.frames.is_some() {
                return Err(SnapError::input(
                    "--log makes a logpoint, which records only its message; drop --capture/--frames, or put the values in the message (--log 'total={total}')",
                ));
            }
        }
        if self.max_hits == Some(0) {
            return Err(SnapError::input("--max-hits must be at least 1"));
        }
        if let Some(rate) = self.rate
            && (!rate.is_finite() || rate <= 0.0 || rate > limits::MAX_RATE)
        {
            return Err(SnapError::input(format!(
                "--rate {rate} is not a number of snapshots per second above 0 and at most {}",
                limits::MAX_RATE
            )));
        }
        let ttl_secs = match &self.ttl {
            Some(text) => Some(ttl_secs(text)?),
            None => None,
        };
        if let Some(frames) = self.frames
            && !(1..=limits::MAX_FRAMES_WITH_LOCALS).contains(&frames)
        {
            return Err(SnapError::input(format!(
                "--frames {frames}: give 1 to {} frames whose locals are captured",
                limits::MAX_FRAMES_WITH_LOCALS
            )));
        }
        Ok(NewProbe {
            service: self.service.clone(),
            env: self.env.clone(),
            file,
            line: location.line,
            condition: self.condition.clone(),
            captures: self.captures.clone(),
            log: self.log.clone(),
            max_hits: self.max_hits,
            rate: self.rate,
            ttl_secs,
            frames_with_locals: self.frames,
        })
    }
}

/// `--ttl`: a duration above zero and at most a day.
fn ttl_secs(text: &str) -> Result<u64, SnapError> {
    let secs = duration::parse(text).map_err(|e| SnapError::input(format!("--ttl {e}")))?.as_secs();
    if secs == 0 {
        return Err(SnapError::input("--ttl must be longer than 0s"));
    }
    if secs > limits::MAX_TTL_SECS {
        return Err(SnapError::input(format!(
            "--ttl {text} is longer than the maximum of {}; probes live at most a day",
            duration::format_secs(limits::MAX_TTL_SECS)
        )));
    }
    Ok(secs)
}

/// `--since DURATION`: the Unix millisecond that far before `now_ms`.
pub fn since_ms(text: &str, now_ms: i64) -> Result<i64, SnapError> {
    let ago = duration::parse(text).map_err(|e| SnapError::input(format!("--since {e}")))?;
    let ago_ms = i64::try_from(ago.as_millis()).unwrap_or(i64::MAX);
    Ok(now_ms.saturating_sub(ago_ms))
}

/// Longest service or environment name (the server's limit).
const MAX_NAME_LEN: usize = 64;

/// A service or environment name: what the agents registered with. The same rule as the
/// server's: 1-64 letters, digits, `.`, `_` or `-`.
pub fn check_name(flag: &str, name: &str) -> Result<(), SnapError> {
    if name.trim().is_empty() {
        return Err(SnapError::input(format!(
            "{flag} is empty; give the name the service's agents use (`borescope snap agents` lists them)"
        )));
    }
    let valid = name.len() <= MAX_NAME_LEN && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(SnapError::input(format!(
            "{flag} `{name}` is not a name: use 1-{MAX_NAME_LEN} letters, digits, `.`, `_` or `-` (e.g. `api`, `orders-worker`)"
        )));
    }
    Ok(())
}

fn check_expression(flag: &str, text: &str) -> Result<(), SnapError> {
    if text.chars().count() > limits::MAX_EXPRESSION_LEN {
        return Err(SnapError::input(format!("{flag} is longer than {} characters", limits::MAX_EXPRESSION_LEN)));
    }
    expr::check_expression(text).map_err(|e| SnapError::input(format!("{flag} `{text}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(location: &str) -> ProbeInput {
        ProbeInput { location: location.into(), service: "api".into(), ..ProbeInput::default() }
    }

    #[test]
    fn a_good_probe_becomes_the_request() {
        let probe = ProbeInput {
            condition: Some("order.total > 100".into()),
            captures: vec!["len(items)".into()],
            ttl: Some("1h30m".into()),
            rate: Some(2.0),
            frames: Some(3),
            ..input("./orders/views.py:88")
        }
        .check()
        .unwrap();
        assert_eq!((probe.file.as_str(), probe.line), ("orders/views.py", 88));
        assert_eq!(probe.ttl_secs, Some(5400));
        assert_eq!(probe.frames_with_locals, Some(3));
    }

    #[test]
    fn bad_input_is_named_with_its_flag() {
        let cases: Vec<(ProbeInput, &str)> = vec![
            (input("views.py"), "is not FILE:LINE"),
            (input("views.py:0"), "no valid line number"),
            (ProbeInput { service: " ".into(), ..input("a.py:1") }, "--service is empty"),
            (ProbeInput { service: "my api".into(), ..input("a.py:1") }, "--service `my api` is not a name"),
            (ProbeInput { ttl: Some("2x".into()), ..input("a.py:1") }, "--ttl `2x` is not a duration"),
            (ProbeInput { ttl: Some("2d".into()), ..input("a.py:1") }, "longer than the maximum of 1d"),
            (ProbeInput { ttl: Some("0s".into()), ..input("a.py:1") }, "--ttl must be longer than 0s"),
            (ProbeInput { rate: Some(0.0), ..input("a.py:1") }, "--rate 0 is not"),
            (ProbeInput { frames: Some(11), ..input("a.py:1") }, "--frames 11"),
            (ProbeInput { max_hits: Some(0), ..input("a.py:1") }, "--max-hits must be at least 1"),
            (ProbeInput { condition: Some("".into()), ..input("a.py:1") }, "--if ``: "),
            (ProbeInput { log: Some("x={x}".into()), captures: vec!["y".into()], ..input("a.py:1") }, "--log makes a logpoint"),
            (ProbeInput { captures: vec!["x".into(); 21], ..input("a.py:1") }, "at most 20 per probe"),
        ];
        for (probe, expected) in cases {
            let error = probe.check().unwrap_err();
            assert!(error.is_input_error());
            let text = error.to_string();
            assert!(text.contains(expected), "{text} does not say {expected}");
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn since_counts_back_from_now() {
        assert_eq!(since_ms("10m", 1_000_000).unwrap(), 400_000);
        assert!(since_ms("ten", 0).unwrap_err().to_string().starts_with("--since `ten` is not a duration"));
    }
}
