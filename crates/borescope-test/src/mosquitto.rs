//! A real MQTT broker for the Lambda relay tests: Debian's `mosquitto` (installed by
//! `scripts/test-setup.sh`) with a WebSocket listener on 127.0.0.1 only (plus the plain MQTT
//! listener mosquitto 2.0 needs before it starts a WebSocket configuration), stopped on drop.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running broker.
pub struct Broker {
    child: Child,
    /// The WebSocket port.
    pub ws_port: u16,
    log: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Broker {
    /// Starts a broker whose files live in `dir`.
    pub fn start(dir: &Path) -> Broker {
        let program = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].into_iter().find(|p| Path::new(p).exists());
        let program = program.unwrap_or_else(|| panic!("mosquitto is not installed; run `scripts/test-setup.sh` first"));
        std::fs::create_dir_all(dir).expect("broker dir");
        let (tcp_port, ws_port) = (free_port(), free_port());
        let config = dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {tcp_port} 127.0.0.1\nlistener {ws_port} 127.0.0.1\nprotocol websockets\nsocket_domain ipv4\nallow_anonymous true\npersistence false\n"
            ),
        )
        .expect("write mosquitto.conf");
        let log = dir.join("mosquitto.log");
        let out = std::fs::File::create(&log).expect("broker log");
        let child = Command::new(program)
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::from(out.try_clone().expect("log fd")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("start mosquitto");
        let mut broker = Broker { child, ws_port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", ws_port)).is_err() {
            if Instant::now() > deadline || broker.child.try_wait().ok().flatten().is_some() {
                panic!("mosquitto did not start: {}", std::fs::read_to_string(&broker.log).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        broker.ws_port = ws_port;
        broker
    }

    /// `ws://127.0.0.1:PORT/mqtt`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/mqtt", self.ws_port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
