//! Limits on a hot loop: max hits, the per-probe rate, the process-wide rate, expiry. Probes
//! are disabled (which keeps their snapshots; `snap rm` deletes them) to end a measurement.
//! Counts are checked against what the limits allow for the time that passed, never against
//! a clock in the other direction.

use crate::{armed_in, ctx, instances, line_of, run_app, Py, Server};
use serde_json::Value;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn id(view: &Value) -> i64 {
    view["id"].as_i64().unwrap_or_else(|| panic!("no id in {view:#}"))
}

fn limits_on(py: Py) {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("loop");
    let app = run_app(&ctx, &server, &key, "loop", py, &["hot_loop.py", "120"]);
    app.wait_for("ready", WAIT);
    instances(&server, "loop", 1);
    let location = format!("hot_loop.py:{}", line_of(&ctx, "hot_loop.py", "PROBE: hot"));

    // Max hits: exactly that many stored, then the probe is done.
    let capped = server.snap(&ctx, &["add", &location, "--service", "loop", "--max-hits", "3", "--rate", "1000", "--wait", "10"]);
    let done = server.wait_probe(id(&capped), WAIT, |v| v["state"] == "done");
    assert_eq!(done["hits"], 3, "{done:#}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.snapshots(id(&capped), 3, WAIT).len(), 3);

    // The default per-probe rate (1/s): a hot line gives about one snapshot a second.
    let started = Instant::now();
    let rated = server.snap(&ctx, &["add", &location, "--service", "loop", "--wait", "10"]);
    server.wait_probe(id(&rated), WAIT, |v| armed_in(v, &[app.pid]));
    std::thread::sleep(Duration::from_secs(3));
    server.snap(&ctx, &["disable", &id(&rated).to_string()]);
    let allowed = started.elapsed().as_secs_f64().ceil() as usize + 1;
    let got = server.snapshots(id(&rated), 1, WAIT).len();
    assert!((1..=allowed).contains(&got), "{got} snapshots in {:?} at 1/s", started.elapsed());

    // The process-wide limit (100/s) holds across probes that each allow 1000/s.
    let started = Instant::now();
    let many: Vec<Value> = (0..3)
        .map(|_| server.snap(&ctx, &["add", &location, "--service", "loop", "--rate", "1000", "--wait", "10"]))
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    for probe in &many {
        server.snap(&ctx, &["disable", &id(probe).to_string()]);
    }
    let elapsed = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(1500)); // the last batch arrives
    let total: usize = many.iter().map(|p| server.snapshots(id(p), 0, Duration::ZERO).len()).sum();
    // Allowed: a full bucket (100), 100/s while armed, and a second's slack for the disable to
    // reach the agent. Without the process-wide limit three 1000/s probes give thousands.
    assert!(total > 0 && total as f64 <= 100.0 * (elapsed + 2.0), "{total} snapshots in {elapsed:.1}s");

    // Expiry: a probe with a 2 s lifetime stops taking snapshots and says expired.
    let short = server.snap(&ctx, &["add", &location, "--service", "loop", "--ttl", "2s", "--rate", "50", "--wait", "10"]);
    let expired = server.wait_probe(id(&short), WAIT, |v| v["state"] == "expired");
    assert!(expired["expires_ms"].as_i64() > Some(0));
    std::thread::sleep(Duration::from_millis(1500));
    let before = server.snapshots(id(&short), 0, Duration::ZERO).len();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.snapshots(id(&short), 0, Duration::ZERO).len(), before, "nothing after expiry");
    assert!(app.is_running(), "{}", app.output());
}

#[test]
fn limits_on_python_3_11() {
    limits_on(Py::Host);
}

#[test]
fn limits_on_python_3_14() {
    limits_on(Py::Sid);
}
