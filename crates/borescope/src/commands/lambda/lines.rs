//! The lines `lambda attach` prints while it runs: one per finished invocation, one when an
//! invocation starts (only with -v), an idle heartbeat; or the same as JSON lines.

use crate::printer;
use borescope_lambda::relay::{Outcome, ServeEvent};

fn clock() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{:02}:{:02}:{:02}", (secs / 3600) % 24, (secs / 60) % 60, secs % 60)
}

/// Prints one event.
pub fn print(json: bool, event: &ServeEvent) {
    if json {
        printer::text(&super::detach::attach_line(event));
        return;
    }
    match event {
        ServeEvent::Started { function, request_id, relay_ms } => {
            tracing::info!("{function} {request_id} arrived ({relay_ms} ms through the relay)");
        }
        ServeEvent::Finished { function, request_id, duration_ms, outcome } => {
            let result = match outcome {
                Outcome::Ok => "ok".to_string(),
                Outcome::Error { error_type, message } => format!("error {error_type}: {message}"),
            };
            printer::text(&format!("{} {function} {request_id} {duration_ms} ms {result}\n", clock()));
        }
        ServeEvent::Idle { idle_secs, served } => {
            printer::text(&format!("{} idle {idle_secs} s, {served} served; waiting for invocations\n", clock()));
        }
    }
}
