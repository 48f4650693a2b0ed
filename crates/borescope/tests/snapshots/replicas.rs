//! Two `borescope server` replicas on one Postgres database (the test run's private
//! PostgreSQL, `borescope_test::postgres`) and an app under `borescope run --server A,B`:
//! replica A is SIGKILLed while the app is under load, the agent moves to B, and nothing the
//! app captured is lost or stored twice.

use crate::{app_port, armed_in, ctx, line_of, local, run_app_on, wait_http, Py, Server};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const REQUESTS: u32 = 200;

#[test]
fn an_agent_moves_to_the_next_replica_when_one_dies_and_loses_nothing() {
    let ctx = ctx();
    let url = borescope_test::postgres::database("failover");
    let mut a = Server::start_postgres(&ctx, &url);
    let b = Server::start_postgres(&ctx, &url);
    let key = a.key("shop");
    let app = run_app_on(&ctx, &format!("{},{}", a.url, b.url), &key, "shop", Py::Host, &["shop_flask.py", "0"]);
    let port = app_port(&app);
    wait_http(&app, port);
    crate::instances_of(&a, "shop", 1, Some(&app));

    // A probe created through A, on a line every request runs, below every rate limit.
    let location = format!("shop_flask.py:{}", line_of(&ctx, "shop_flask.py", "PROBE: view"));
    let view = a.snap(&ctx, &["add", &location, "--service", "shop", "--rate", "100", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    a.wait_probe(id, WAIT, |v| armed_in(v, &[app.pid]));

    // Load: one request every 25 ms; A dies once some of their snapshots are stored.
    let load = std::thread::spawn(move || {
        for order in 1..=REQUESTS {
            let response = borescope_test::http::get(&format!("http://127.0.0.1:{port}/order/{order}"), None);
            assert_eq!(response.status, 200, "order {order}: {}", response.text());
            std::thread::sleep(Duration::from_millis(25));
        }
    });
    b.snapshots(id, 40, WAIT);
    a.kill();
    load.join().expect("every request answered while a replica died");

    // Every snapshot arrives through B, each exactly once.
    let shots = b.snapshots(id, REQUESTS as usize, Duration::from_secs(60));
    let mut orders: Vec<u32> =
        shots.iter().map(|s| local(s, "order_id")["value"].as_str().and_then(|v| v.parse().ok()).expect("order_id")).collect();
    orders.sort_unstable();
    let expected: Vec<u32> = (1..=REQUESTS).collect();
    assert_eq!(orders, expected, "every request's snapshot once: {} stored", shots.len());
    assert_eq!(b.get(&format!("/api/v1/probes/{id}"))["hits"], REQUESTS, "counted once each");

    // The agent now polls B: a new probe created there reaches it, and its snapshot arrives.
    let method = format!("pricing.py:{}", line_of(&ctx, "pricing.py", "PROBE: method"));
    let view = b.snap(&ctx, &["add", &method, "--service", "shop", "--wait", "10"]);
    let second = view["id"].as_i64().expect("id");
    b.wait_probe(second, WAIT, |v| armed_in(v, &[app.pid]));
    crate::hit(port, "/order/9999");
    assert_eq!(b.snapshots(second, 1, WAIT).len(), 1);
    assert!(app.is_running(), "{}", app.output());
}
