//! `attach --listen-only`: debugpy for an editor, with a ready `launch.json` configuration.

use crate::{ctx, fixture, ready};
use borescope_test::targets::TargetProcess;
use insta::assert_snapshot;

#[test]
fn listen_only_prints_a_configuration_an_editor_can_use() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let target = TargetProcess::plain(&ctx.work(), &["service.py"], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    let listening = ctx.run(["attach", &pid, "--listen-only"]);
    listening.expect_code(0).stdout_has("\"request\": \"attach\"").stdout_has("\"type\": \"debugpy\"");
    assert_snapshot!("listen_only", listening.snapshot());
    let port: u16 = listening
        .stdout
        .split("\"port\": ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("a port in the configuration");
    // An editor speaks DAP to that port directly, without a token: initialize must answer.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("debugpy listens");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let body = r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"debugpy","clientID":"test"}}"#;
    use std::io::{Read, Write};
    write!(stream, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut reply = String::new();
    let mut buffer = [0u8; 4096];
    while !reply.contains("supportsConfigurationDoneRequest") {
        let n = stream.read(&mut buffer).expect("debugpy answers");
        if n == 0 {
            break;
        }
        reply.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(reply.contains("Content-Length") && reply.contains("\"supportsConfigurationDoneRequest\""), "{reply}");
    drop(stream);
    ctx.run(["attach", &pid, "--listen-only", "--break", "service.py:8"]).expect_code(2).stderr_has("--listen-only sets no breakpoints");
    // What the notice promises: attach and detach stops the token-less listener.
    ctx.run(["attach", &pid]).expect_code(0);
    ctx.run(["stop"]).expect_code(0);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the listener must be gone");
    assert!(target.is_running());
}
