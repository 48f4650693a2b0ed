//! What the server is started with ([`ServerConfig`]), where its data lives
//! ([`DatabaseConfig`]), and the admin token ([`AdminToken`]): given, else read from the data
//! directory, else generated there (mode 0600) and shown once.

use crate::error::ServerError;
use borescope_snapshots_api::limits;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The SQLite file's name inside the data directory.
pub const DATABASE_FILE: &str = "snapshots.db";
/// The generated admin token's file name inside the data directory.
pub const TOKEN_FILE: &str = "admin-token";
/// Shortest admin token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// Where the server keeps its data.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// A directory holding `snapshots.db` (SQLite) and, when generated, `admin-token`.
    DataDir(PathBuf),
    /// A database URL: `postgres://...` or `sqlite:PATH`.
    Url(String),
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseConfig::DataDir(dir) => f.debug_tuple("DataDir").field(dir).finish(),
            DatabaseConfig::Url(url) => f.debug_tuple("Url").field(&redact_url(url)).finish(),
        }
    }
}

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// The admin token; `None`: read or generate one in the data directory.
    pub token: Option<String>,
    /// Snapshots older than this are deleted (default 7 days).
    pub retention: Duration,
    /// Snapshots kept per probe, newest first (default 10,000).
    pub snapshots_per_probe: u64,
    /// Extra names agents redact, on top of their built-in list.
    pub redact: Vec<String>,
    /// Snapshots per second per process that agents allow (default 100).
    pub global_rate: f64,
    /// How often a waiting long-poll re-reads versions from the database, for changes made by
    /// another server on the same database (changes made here wake it at once).
    pub recheck: Duration,
}

impl ServerConfig {
    /// Defaults for everything but where the data lives.
    pub fn new(database: DatabaseConfig) -> ServerConfig {
        ServerConfig {
            database,
            token: None,
            retention: Duration::from_secs(limits::DEFAULT_RETENTION_SECS),
            snapshots_per_probe: limits::DEFAULT_SNAPSHOTS_PER_PROBE,
            redact: Vec::new(),
            global_rate: limits::DEFAULT_GLOBAL_RATE,
            recheck: Duration::from_secs(2),
        }
    }
}

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    /// `--token` or `BORESCOPE_SERVER_TOKEN`.
    Given,
    /// Generated at an earlier start, read from this file.
    Stored(PathBuf),
    /// Generated now and stored in this file: show it once.
    Generated(PathBuf),
}

/// The admin token people, the CLI and MCP use.
#[derive(Clone)]
pub struct AdminToken {
    secret: String,
    origin: TokenOrigin,
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminToken").field("secret", &"[redacted]").field("origin", &self.origin).finish()
    }
}

impl AdminToken {
    /// The token itself (print it only when [`AdminToken::origin`] is `Generated`).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Where it came from.
    pub fn origin(&self) -> &TokenOrigin {
        &self.origin
    }

    /// The token given, else the one stored in `data_dir`, else a new one stored there.
    pub(crate) fn resolve(given: Option<&str>, data_dir: Option<&Path>) -> Result<AdminToken, ServerError> {
        if let Some(token) = given {
            let token = token.trim();
            if token.len() < MIN_TOKEN_LEN {
                return Err(ServerError::Config(format!(
                    "the admin token must be at least {MIN_TOKEN_LEN} characters (or leave it out to have one generated)"
                )));
            }
            return Ok(AdminToken { secret: token.to_string(), origin: TokenOrigin::Given });
        }
        let Some(dir) = data_dir else {
            return Err(ServerError::Config(
                "a server with --database needs --token or BORESCOPE_SERVER_TOKEN (there is no data directory to keep a generated one in)"
                    .into(),
            ));
        };
        let path = dir.join(TOKEN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= MIN_TOKEN_LEN => {
                return Ok(AdminToken { secret: text.trim().to_string(), origin: TokenOrigin::Stored(path) });
            }
            Ok(_) => {
                return Err(ServerError::Config(format!(
                    "the admin token file `{}` holds no usable token: delete it to have a new one generated",
                    path.display()
                )));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ServerError::TokenFile { path, source }),
        }
        let secret = crate::auth::random_base62(43).map_err(|e| ServerError::Config(format!("no randomness for a token: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
            file.write_all(format!("{secret}\n").as_bytes())?;
            file.sync_all()
        };
        write().map_err(|source| ServerError::TokenFile { path: path.clone(), source })?;
        Ok(AdminToken { secret, origin: TokenOrigin::Generated(path) })
    }
}

/// Creates the data directory (mode 0700) if needed and checks that files can be made in it.
pub(crate) fn prepare_data_dir(dir: &Path) -> Result<(), ServerError> {
    let fail = |source| ServerError::DataDir { path: dir.to_path_buf(), source };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(fail)?;
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&probe).map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// A database URL with its password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_string() };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!("{}://{}:***{}", &url[..scheme_end], &userinfo[..colon], &rest[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(redact_url("postgres://bob:s3cret@db:5432/snap"), "postgres://bob:***@db:5432/snap");
        assert_eq!(redact_url("postgres://bob@db/snap"), "postgres://bob@db/snap");
        assert_eq!(redact_url("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
        assert_eq!(format!("{:?}", DatabaseConfig::Url("postgres://a:b@h/d".into())), "Url(\"postgres://a:***@h/d\")");
    }

    #[test]
    fn token_is_generated_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = AdminToken::resolve(None, Some(dir.path())).unwrap();
        assert!(matches!(first.origin(), TokenOrigin::Generated(_)));
        assert_eq!(first.secret().len(), 43);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join(TOKEN_FILE)).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let second = AdminToken::resolve(None, Some(dir.path())).unwrap();
        assert!(matches!(second.origin(), TokenOrigin::Stored(_)));
        assert_eq!(second.secret(), first.secret());
        assert!(!format!("{second:?}").contains(second.secret()));
        let given = AdminToken::resolve(Some("0123456789abcdef"), None).unwrap();
        assert_eq!(given.origin(), &TokenOrigin::Given);
        assert!(AdminToken::resolve(Some("short"), None).is_err());
        assert!(AdminToken::resolve(None, None).is_err());
    }
}
