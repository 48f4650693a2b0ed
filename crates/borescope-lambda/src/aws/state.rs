//! The local state file of an attach: `STATE_DIR/<account>-<region>-<stack>.json`, written
//! before anything in AWS changes (every function's original timeout, full environment, layers
//! and exec wrapper, and the roles given the relay policy), replaced atomically (temporary
//! file, fsync, rename, directory fsync; mode 0600), and removed by a complete detach.

use super::error::AwsError;
use super::record::Env;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The state file's format version.
const STATE_VERSION: u32 = 1;

/// How far an attach got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Originals recorded; functions may be partly instrumented (running, or interrupted).
    Attaching,
    /// Every function instrumented.
    Attached,
}

/// One function's configuration before the attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalConfig {
    /// Timeout, seconds.
    pub timeout: i32,
    /// The whole environment (`None`: the function had no variables).
    pub environment: Option<Env>,
    /// Layer version ARNs, in order.
    pub layers: Vec<String>,
    /// `AWS_LAMBDA_EXEC_WRAPPER`, if set.
    pub wrapper: Option<String>,
}

/// One function of the attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionState {
    /// Logical id in the stack (`Nested/Fn` in a nested stack).
    pub logical_id: String,
    /// Function name.
    pub name: String,
    /// Function ARN.
    pub arn: String,
    /// Its execution role's ARN.
    pub role: String,
    /// What it had before.
    pub original: OriginalConfig,
}

/// The state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackState {
    /// Format version.
    pub v: u32,
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Stack name.
    pub stack: String,
    /// Who attached.
    pub holder: String,
    /// When, Unix seconds.
    pub since: u64,
    /// The attach's topic prefix (names its policy statement).
    pub prefix: String,
    /// How far it got.
    pub phase: Phase,
    /// The layer version added, once known.
    pub layer_arn: Option<String>,
    /// Role names given the relay policy statement.
    pub roles: Vec<String>,
    /// The functions.
    pub functions: Vec<FunctionState>,
}

impl StackState {
    /// A new state in phase [`Phase::Attaching`].
    pub(crate) fn new(
        account: &str,
        region: &str,
        stack: &str,
        holder: &str,
        since: u64,
        prefix: &str,
        functions: Vec<FunctionState>,
    ) -> StackState {
        StackState {
            v: STATE_VERSION,
            account: account.to_string(),
            region: region.to_string(),
            stack: stack.to_string(),
            holder: holder.to_string(),
            since,
            prefix: prefix.to_string(),
            phase: Phase::Attaching,
            layer_arn: None,
            roles: Vec::new(),
            functions,
        }
    }
}

/// The state file of `stack` in `account` and `region` under `dir`. Characters outside
/// `[A-Za-z0-9-_.]` (a stack ARN's `:` and `/`) become `_`.
pub fn path(dir: &Path, account: &str, region: &str, stack: &str) -> PathBuf {
    let clean: String = format!("{account}-{region}-{stack}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{clean}.json"))
}

/// Reads a state file: `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<StackState>, AwsError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(AwsError::State {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let state: StackState = serde_json::from_str(&text).map_err(|e| AwsError::StateDamaged {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if state.v != STATE_VERSION {
        return Err(AwsError::StateDamaged {
            path: path.to_path_buf(),
            detail: format!(
                "format version {} (this borescope writes {STATE_VERSION})",
                state.v
            ),
        });
    }
    Ok(Some(state))
}

/// Every readable state file under `dir` for `account` and `region` (damaged ones skipped with
/// a log line).
pub fn list(dir: &Path, account: &str, region: &str) -> Vec<(PathBuf, StackState)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        match load(&path) {
            Ok(Some(state)) if state.account == account && state.region == region => {
                found.push((path, state))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Writes `state` to `path` atomically, mode 0600, creating the directory (0700) if needed.
pub fn save(path: &Path, state: &StackState) -> Result<(), AwsError> {
    let io = |source| AwsError::State {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(io)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    let text = serde_json::to_vec_pretty(state).map_err(|e| io(std::io::Error::other(e)))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("state.json");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(e)
    })
}

/// Removes a state file; a missing file is fine.
pub fn remove(path: &Path) -> Result<(), AwsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(AwsError::State {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_loads_back_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = path(
            &dir.path().join("lambda"),
            "123",
            "eu-west-1",
            "arn:aws:cloudformation:x/orders/1",
        );
        assert!(
            file.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.contains(':') && !n.contains('/'))
        );
        assert!(load(&file).expect("no file is fine").is_none());
        let state = StackState::new("123", "eu-west-1", "orders", "me@here", 7, "ab", Vec::new());
        save(&file, &state).expect("saves");
        assert_eq!(load(&file).expect("loads"), Some(state.clone()));
        let mode = fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            list(file.parent().expect("dir"), "123", "eu-west-1").len(),
            1
        );
        assert!(list(file.parent().expect("dir"), "999", "eu-west-1").is_empty());
        remove(&file).expect("removes");
        remove(&file).expect("twice is fine");
    }

    #[test]
    fn a_damaged_state_file_names_the_fix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("x.json");
        fs::write(&file, "{").expect("write");
        let err = load(&file).expect_err("damaged");
        assert!(err.to_string().contains("delete it"), "{err}");
    }
}
