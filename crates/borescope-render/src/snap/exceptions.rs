//! Exception snapshots and the service setting that turns them on, as text. An exception
//! snapshot reads like a stop report at the raise: a headline with the exception, a line saying
//! where the agent saw it (Flask, FastAPI, a thread, ...), how often it happened and when, the
//! exceptions it was chained to, then source, stack and locals; `hits` adds every other frame's
//! locals.

use super::when::utc_millis;
use crate::text::cut;
use crate::RenderContext;
use borescope_model::wording::counted;
use borescope_snapshots_api::people::ServiceInfo;
use borescope_snapshots_api::{ExceptionInfo, ExceptionOrigin, Snapshot};

/// `Exception 42: KeyError: 'sku-9' at views.py:12 in checkout (thread MainThread)` and the
/// lines under it, up to the stop body.
pub(super) fn write_header(out: &mut String, snapshot: &Snapshot, info: &ExceptionInfo, place: &str, ctx: &RenderContext) {
    let data = &snapshot.data;
    let thread = data.thread.as_ref().map(|t| format!(" (thread {})", t.name)).unwrap_or_default();
    let message = if info.message.is_empty() { String::new() } else { format!(": {}", cut(&info.message, 300).0) };
    out.push_str(&format!("Exception {}: {}{message}\n", snapshot.id, info.type_name));
    out.push_str(&format!("  raised at {place}{thread}\n"));
    let capture = if data.capture_us > 0 { format!(", captured in {:.1}ms", data.capture_us as f64 / 1000.0) } else { String::new() };
    out.push_str(&format!(
        "  {}, service {}, {} pid {}, {}, {}{capture}\n",
        origin(info.origin),
        snapshot.service,
        snapshot.host,
        snapshot.pid,
        utc_millis(data.time_ms),
        counted(info.occurrences, "occurrence", "occurrences"),
    ));
    for chained in &info.chain {
        let relation = if chained.relation == "cause" { "caused by" } else { "while handling" };
        let message = if chained.message.is_empty() { String::new() } else { format!(": {}", cut(&chained.message, 200).0) };
        let at = match (&chained.file, chained.line) {
            (Some(file), line) => format!(" at {}", ctx.paths.location(file, line)),
            _ => String::new(),
        };
        out.push_str(&format!("  {relation} {}{message}{at}\n", chained.type_name));
    }
}

fn origin(origin: ExceptionOrigin) -> &'static str {
    match origin {
        ExceptionOrigin::Flask => "a Flask request failed",
        ExceptionOrigin::Fastapi => "a FastAPI request failed",
        ExceptionOrigin::Thread => "escaped a thread",
        ExceptionOrigin::Excepthook => "escaped the program",
        ExceptionOrigin::Logging => "logged with its traceback",
    }
}

/// `snap exceptions --service NAME [on|off]`: the setting and what it means now.
pub fn render_snap_service(service: &ServiceInfo, changed: bool) -> String {
    let instances = format!(
        "{} of {}",
        counted(service.live_instances, "live instance", "live instances"),
        service.instances
    );
    let name = &service.name;
    match (service.exceptions, changed) {
        (true, true) => format!(
            "Exception snapshots on for service {name} ({instances}): each instance records the locals of every frame of an exception that escapes a request handler or a thread, or is logged with its traceback; one per failure per minute, the others counted.\n  `borescope snap hits --service {name} --kind exception` prints them; `borescope snap exceptions --service {name} off` stops them.\n"
        ),
        (false, true) => format!(
            "Exception snapshots off for service {name} ({instances}): its instances take their hooks out now; the snapshots taken are kept.\n"
        ),
        (true, false) => format!(
            "Exception snapshots are on for service {name} ({instances}).\n  `borescope snap hits --service {name} --kind exception` prints them; `borescope snap exceptions --service {name} off` stops them.\n"
        ),
        (false, false) => format!(
            "Exception snapshots are off for service {name} ({instances}).\n  `borescope snap exceptions --service {name} on` turns them on.\n"
        ),
    }
}
