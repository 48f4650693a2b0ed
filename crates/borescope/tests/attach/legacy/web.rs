//! A Flask application under request load on Python 3.11 and 3.13: attach, a breakpoint in the
//! handler, continue, detach — and not one request fails meanwhile.

use crate::{ctx, fixture};
use borescope_test::interpreters;
use borescope_test::targets::{free_port, wait_until_listening, TargetProcess};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Clients sending requests in a loop (bounded in count and time) and checking each answer.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    clients: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let clients = (0..clients)
            .map(|client| {
                let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
                std::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(600);
                    for n in 0..100_000u64 {
                        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                            break;
                        }
                        let id = n * 10 + client as u64;
                        let url = format!("http://127.0.0.1:{port}/items/{id}");
                        match borescope_test::http::request("GET", &url, None, &[], None) {
                            Ok(r) if r.status == 200 && r.json()["price"] == id * 3 => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(r) => failures.lock().unwrap().push(format!("GET {url}: {} {}", r.status, r.text())),
                            Err(e) => failures.lock().unwrap().push(format!("GET {url}: {e}")),
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        Load { stop, ok, failures, clients }
    }

    fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Waits until `more` further requests succeeded (the server answers), failing on any error.
    fn served(&self, more: u64) {
        let goal = self.ok() + more;
        super::wait_until(&format!("{more} more requests succeeded"), || {
            assert!(self.failures.lock().unwrap().is_empty(), "requests failed: {:?}", self.failures.lock().unwrap());
            self.ok() >= goal
        });
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.join().unwrap();
        }
        let failures = self.failures.lock().unwrap();
        assert!(failures.is_empty(), "{} requests failed: {:?}", failures.len(), &failures[..failures.len().min(5)]);
        self.ok.load(Ordering::Relaxed)
    }
}

fn flask_under_load(python: std::path::PathBuf, minor: &str) {
    let ctx = ctx();
    fixture(&ctx, "flask_load.py");
    let port = free_port();
    let target = TargetProcess::program_env(&ctx.work(), python, &["flask_load.py"], &[("PORT", &port.to_string())]);
    wait_until_listening(port, Duration::from_secs(30), &target);
    let pid = target.pid.to_string();
    let load = Load::start(port, 3);
    load.served(20);

    ctx.run(["attach", &pid]).expect_code(0).stdout_has(&format!("attached to pid {pid}"));
    load.served(20);
    ctx.run(["break", "flask_load.py:13"]).expect_code(0).stdout_has("[verified]");
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("Stopped at breakpoint flask_load.py:13 in item")
        .stdout_has("item_id: int = ");
    ctx.run(["eval", "price == item_id * 3"]).expect_code(0).stdout_has("True");
    ctx.run(["eval", "__import__('sys').version_info[:2]"]).expect_code(0).stdout_has(&format!("(3, {})", &minor[2..]));
    ctx.run(["break", "--delete", "flask_load.py:13"]).expect_code(0);
    // Request threads that reached the line before it was deleted may still report a stop.
    let mut resumed = false;
    for _ in 0..10 {
        let run = ctx.run(["continue", "--timeout", "1"]);
        run.expect_code(0);
        if run.stdout.contains("still running") {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "the program kept stopping after the breakpoint was deleted");
    load.served(20);
    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    load.served(20);
    ctx.run(["attach", &pid, "--session", "again"]).expect_code(0);
    ctx.run(["stop", "--session", "again"]).expect_code(0).stdout_has("detached");
    load.served(20);
    let served = load.finish();
    assert!(served >= 120, "{served}");
    assert!(target.is_running());
}

#[test]
fn flask_under_load_on_python_311() {
    flask_under_load(interpreters::web_venv_python(), "3.11");
}

#[test]
fn flask_under_load_on_python_313() {
    flask_under_load(interpreters::sid_python313(), "3.13");
}
