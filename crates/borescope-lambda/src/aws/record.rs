//! The `BORESCOPE_LAMBDA` record a function carries while attached (docs/lambda-relay.md §1):
//! the relay settings the shim reads and the originals `detach` restores, compact enough for
//! Lambda's 4 KB of environment. Also the pure environment arithmetic: the instrumented
//! environment from the original one, the original from the instrumented, and the size check.

use super::error::AwsError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The record's variable.
pub const RECORD_VAR: &str = "BORESCOPE_LAMBDA";
/// The chained wrapper's variable (the wrapper cannot parse JSON with shell builtins).
pub const CHAIN_VAR: &str = "BORESCOPE_LAMBDA_CHAIN";
/// The managed runtime's wrapper variable.
pub const WRAPPER_VAR: &str = "AWS_LAMBDA_EXEC_WRAPPER";
/// borescope's wrapper inside the layer.
pub const WRAPPER_PATH: &str = "/opt/borescope/wrapper";
/// Lambda's limit on all environment variables together, in bytes.
pub const ENV_LIMIT: usize = 4096;
/// The record's format version.
pub const RECORD_VERSION: u32 = 1;

/// A function's environment variables.
pub type Env = BTreeMap<String, String>;

/// What `detach` restores besides the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Originals {
    /// The original timeout, seconds.
    pub timeout: i32,
    /// The original `AWS_LAMBDA_EXEC_WRAPPER`, if any.
    pub wrapper: Option<String>,
    /// The original layer version ARNs, in order.
    pub layers: Vec<String>,
}

/// The `BORESCOPE_LAMBDA` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Format version ([`RECORD_VERSION`]).
    pub v: u32,
    /// The broker's WebSocket URL, unsigned.
    pub relay: String,
    /// The region (the shim signs for it).
    pub region: String,
    /// The topic prefix, 32 hex characters.
    pub prefix: String,
    /// The message secret, base64url without padding.
    pub secret: String,
    /// Who attached (`user@host`).
    pub holder: String,
    /// When, Unix seconds.
    pub since: u64,
    /// The stack the function was attached as part of (for `status` without `--stack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// What detach restores.
    pub orig: Originals,
}

impl Record {
    /// Reads the record from a function's environment: `Ok(None)` when there is none.
    pub fn from_env(function: &str, env: &Env) -> Result<Option<Record>, AwsError> {
        let Some(text) = env.get(RECORD_VAR) else {
            return Ok(None);
        };
        let record: Record = serde_json::from_str(text).map_err(|e| AwsError::ForeignRecord {
            function: function.to_string(),
            detail: e.to_string(),
        })?;
        if record.v != RECORD_VERSION {
            return Err(AwsError::ForeignRecord {
                function: function.to_string(),
                detail: format!(
                    "format version {} (this borescope writes {RECORD_VERSION})",
                    record.v
                ),
            });
        }
        Ok(Some(record))
    }

    /// The record as the compact JSON stored in the variable.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The environment while attached: the original plus the record, the wrapper, and the chained
/// wrapper when the function had one.
pub fn instrumented_env(original: &Env, record: &Record) -> Env {
    let mut env = original.clone();
    env.insert(RECORD_VAR.to_string(), record.to_json());
    env.insert(WRAPPER_VAR.to_string(), WRAPPER_PATH.to_string());
    match &record.orig.wrapper {
        Some(chain) => env.insert(CHAIN_VAR.to_string(), chain.clone()),
        None => env.remove(CHAIN_VAR),
    };
    env
}

/// The original environment from an instrumented one: without borescope's variables, with the
/// recorded wrapper back (or none).
pub fn original_env(current: &Env, record: &Record) -> Env {
    let mut env = current.clone();
    env.remove(RECORD_VAR);
    env.remove(CHAIN_VAR);
    match &record.orig.wrapper {
        Some(wrapper) => env.insert(WRAPPER_VAR.to_string(), wrapper.clone()),
        None => env.remove(WRAPPER_VAR),
    };
    env
}

/// The size Lambda counts against [`ENV_LIMIT`]: the variables as a JSON object.
pub fn env_size(env: &Env) -> usize {
    if env.is_empty() {
        0
    } else {
        serde_json::to_string(env)
            .map(|s| s.len())
            .unwrap_or(usize::MAX)
    }
}

/// Refuses an instrumented environment over Lambda's limit, with the numbers.
pub fn check_env_size(function: &str, original: &Env, instrumented: &Env) -> Result<(), AwsError> {
    let total = env_size(instrumented);
    if total > ENV_LIMIT {
        let own = env_size(original);
        return Err(AwsError::EnvTooLarge {
            function: function.to_string(),
            total,
            added: total.saturating_sub(own),
            own,
            limit: ENV_LIMIT,
        });
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (UTC).
pub fn utc(secs: u64) -> String {
    let (date, time) = borescope_model::calendar::utc_date_and_time(i64::try_from(secs).unwrap_or(i64::MAX));
    format!("{date}T{time}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(wrapper: Option<&str>) -> Record {
        Record {
            v: 1,
            relay: "wss://abc-ats.iot.eu-west-1.amazonaws.com/mqtt".into(),
            region: "eu-west-1".into(),
            prefix: "0123456789abcdef0123456789abcdef".into(),
            secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI".into(),
            holder: "alice@laptop".into(),
            since: 1_764_460_800,
            stack: Some("orders-api".into()),
            orig: Originals {
                timeout: 3,
                wrapper: wrapper.map(str::to_string),
                layers: vec!["arn:l:1".into()],
            },
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_record_is_compact_json_in_contract_order() {
        let json = record(None).to_json();
        assert!(json.starts_with(r#"{"v":1,"relay":"wss://"#), "{json}");
        assert!(
            json.ends_with(r#""orig":{"timeout":3,"wrapper":null,"layers":["arn:l:1"]}}"#),
            "{json}"
        );
        assert!(json.len() < 1024);
    }

    #[test]
    fn instrumenting_then_restoring_gives_the_original_back() {
        for original in [
            env(&[]),
            env(&[("A", "1")]),
            env(&[("A", "1"), (WRAPPER_VAR, "/opt/other-wrapper")]),
        ] {
            let wrapper = original.get(WRAPPER_VAR).map(String::as_str);
            let rec = record(wrapper);
            let on = instrumented_env(&original, &rec);
            assert_eq!(on.get(WRAPPER_VAR).map(String::as_str), Some(WRAPPER_PATH));
            assert_eq!(on.get(CHAIN_VAR).map(String::as_str), wrapper);
            assert_eq!(
                Record::from_env("f", &on).expect("parses"),
                Some(rec.clone())
            );
            assert_eq!(original_env(&on, &rec), original);
        }
    }

    #[test]
    fn a_foreign_record_is_refused() {
        let err = Record::from_env("f", &env(&[(RECORD_VAR, "yes")])).expect_err("not ours");
        assert!(
            err.to_string()
                .contains("remove it from the function's environment by hand"),
            "{err}"
        );
    }

    #[test]
    fn the_size_check_gives_the_numbers() {
        let big = "x".repeat(3900);
        let original = env(&[("BIG", &big)]);
        let on = instrumented_env(&original, &record(None));
        let err = check_env_size("orders", &original, &on).expect_err("too large");
        let text = err.to_string();
        assert!(text.contains("Lambda allows 4096"), "{text}");
        assert!(
            text.contains(&format!("its own: {}", env_size(&original))),
            "{text}"
        );
        check_env_size(
            "orders",
            &env(&[]),
            &instrumented_env(&env(&[]), &record(None)),
        )
        .expect("fits");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_764_460_800), "2025-11-30T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
