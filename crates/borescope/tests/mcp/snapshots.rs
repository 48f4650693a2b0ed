//! The live-snapshot tools through the SDK client, without a server: arguments are checked
//! before any request, and an unreachable server is a one-line tool error naming the fix.

use crate::clients::stdio;
use crate::ctx;
use serde_json::json;

#[test]
fn snapshot_tools_check_arguments_and_name_a_missing_server() {
    let ctx = ctx();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
    drop(listener);
    let drive = stdio(
        &ctx,
        json!([
            ["create_snapshot", {"location": "views.py", "service": "api"}],
            ["create_snapshot", {"location": "views.py:3", "service": "api", "ttl": "2x"}],
            ["create_snapshot", {"location": "views.py:3", "service": "api", "wait_secs": 99}],
            ["wait_for_snapshot", {"probe_id": 1, "timeout_secs": 500}],
            ["delete_snapshot", {}],
            ["create_snapshot", {"location": "views.py:3", "service": "api"}],
            ["list_snapshots", {}],
            ["wait_for_snapshot", {"probe_id": 1, "timeout_secs": 1}],
            ["delete_snapshot", {"probe_id": 1}],
            ["list_instances", {"service": "api"}]
        ]),
        &["--server", &server, "--server-token", "not-needed-here"],
    );
    assert!(drive.error_text(0).contains("`views.py` is not FILE:LINE"));
    assert!(drive.error_text(1).contains("`2x` is not a duration"));
    assert!(drive.error_text(2).contains("wait_secs 99 must be between 0 and 30"));
    assert!(drive.error_text(3).contains("timeout_secs 500 must be between 0 and 120"));
    assert!(drive.error_text(4).contains("missing field `probe_id`"));
    for index in 5..10 {
        let text = drive.error_text(index);
        assert!(text.starts_with(&format!("no borescope server at {server} (start one with `borescope server`")), "call {index}: {text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
