//! A real PostgreSQL for the tests of `borescope server --database postgres://...`, run by
//! `scripts/postgres-private` (Debian's package, `initdb` in a temporary directory as an
//! unprivileged user, a private loopback port, test settings).
//!
//! [`shared`] starts one server and [`database`] hands each test a fresh database in it. The
//! server outlives no test run: `up --watch-pid` leaves a reaper that runs `down` once the
//! watched process is gone.
//!
//! * Under `cargo nextest` (one process per test) the server is shared by every test of the run:
//!   keyed by `NEXTEST_RUN_ID`, started by the first test under a file lock, watched on the
//!   nextest runner's pid (the tests' parent).
//! * Under `cargo test` (one process per test binary) it is started once per test binary and
//!   watched on the test binary's own pid.

use crate::interpreters::shared_cache;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// A running server.
#[derive(Debug, Clone)]
pub struct PostgresServer {
    /// Its state directory (data, socket, log).
    pub state_dir: PathBuf,
    /// The URL of its `postgres` database (superuser `borescope`).
    pub url: String,
}

/// The script that runs the server.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres-private")
}

/// The test run's server, started on first use (see the module docs). Panics with the script's
/// error output if it cannot be started (PostgreSQL missing: run `scripts/test-setup.sh`).
pub fn shared() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("NEXTEST_RUN_ID") {
        Ok(run_id) if !run_id.is_empty() => shared_by_run(&run_id),
        _ => {
            let dir = tempfile::Builder::new().prefix("bspg-").tempdir_in("/tmp").expect("create a state directory").keep();
            start(&dir, std::process::id())
        }
    })
}

/// A new, empty database in the shared server, named after `label` (a test's name), and its
/// URL. Each call makes another one, so tests never see each other's rows.
pub fn database(label: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = shared();
    let clean: String = label.chars().filter(char::is_ascii_alphanumeric).take(30).collect::<String>().to_ascii_lowercase();
    let name = format!("t_{clean}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    run_script(Command::new(script()).arg("createdb").arg(&server.state_dir).arg(&name), "createdb").trim().to_string()
}

fn shared_by_run(run_id: &str) -> PostgresServer {
    let short: String = run_id.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
    let state_dir = PathBuf::from(format!("/tmp/bspg-{short}"));
    let cache = shared_cache().join("postgres");
    std::fs::create_dir_all(&cache).unwrap_or_else(|e| panic!("create {}: {e}", cache.display()));
    let lock_path = cache.join("nextest-run.lock");
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
    let url_file = state_dir.join("url");
    let server = match std::fs::read_to_string(&url_file) {
        Ok(url) if !url.trim().is_empty() => PostgresServer { state_dir: state_dir.clone(), url: url.trim().to_string() },
        // The nextest runner is this process's parent: the server goes when the run ends.
        _ => start(&state_dir, std::os::unix::process::parent_id()),
    };
    drop(lock);
    server
}

fn run_script(command: &mut Command, what: &str) -> String {
    crate::script_output(command, "postgres-private", what, "; is PostgreSQL installed (run `scripts/test-setup.sh`)?")
}

fn start(state_dir: &Path, watch_pid: u32) -> PostgresServer {
    let url = run_script(
        Command::new(script()).arg("up").arg(state_dir).arg("--watch-pid").arg(watch_pid.to_string()),
        "up",
    );
    PostgresServer { state_dir: state_dir.to_path_buf(), url: url.trim().to_string() }
}

