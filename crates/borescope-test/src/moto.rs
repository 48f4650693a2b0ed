//! moto in server mode, the AWS stand-in of the Lambda control-plane tests: a `moto_server`
//! on a free loopback port (from the `venv-moto` virtualenv `scripts/test-setup.sh` installs),
//! waited for until it answers, killed on drop. It gives the endpoint, dummy credentials and a
//! region, as values and as the environment a child process (the CLI) would get.

use crate::interpreters::shared_cache;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Dummy credentials moto accepts.
pub const ACCESS_KEY_ID: &str = "testing";
/// Dummy secret.
pub const SECRET_ACCESS_KEY: &str = "testing";
/// The region the tests use.
pub const REGION: &str = "eu-west-1";
/// moto's fixed account id.
pub const ACCOUNT: &str = "123456789012";

/// A running moto server; killed on drop.
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port.
    pub port: u16,
    _log_dir: tempfile::TempDir,
    log: PathBuf,
}

/// The `moto_server` executable; panics with the setup command when it is missing.
pub fn moto_server_bin() -> PathBuf {
    let path = shared_cache().join("venv-moto/bin/moto_server");
    if !path.exists() {
        panic!(
            "moto is missing at {}; run `scripts/test-setup.sh` first",
            path.display()
        );
    }
    path
}

impl MotoServer {
    /// Starts a fresh server (empty state) and waits until it answers HTTP.
    pub fn start() -> MotoServer {
        let bin = moto_server_bin();
        let log_dir = tempfile::Builder::new()
            .prefix("bsmoto-")
            .tempdir_in("/tmp")
            .expect("moto log dir");
        let log = log_dir.path().join("moto.log");
        for _ in 0..3 {
            let port = free_port();
            let out = std::fs::File::create(&log).expect("moto log");
            let err = out.try_clone().expect("moto log");
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("start moto_server");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile, or moto failed: try again
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && crate::http::request(
                        "GET",
                        &format!("http://127.0.0.1:{port}/moto-api/"),
                        None,
                        &[],
                        None,
                    )
                    .is_ok_and(|r| r.status < 500)
                {
                    return MotoServer {
                        child,
                        url: format!("http://127.0.0.1:{port}"),
                        port,
                        _log_dir: log_dir,
                        log,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "moto_server did not answer within 60 s: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!(
            "moto_server did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// The environment that points an AWS SDK at this server: `AWS_ENDPOINT_URL`, dummy
    /// credentials, the region; profiles and config files neutralised.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// What the server logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}
