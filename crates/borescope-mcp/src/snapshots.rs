//! The live-snapshot tools: probes on running services that record locals and stacks without
//! stopping anything, stored on a `borescope server` (`borescope mcp --server URL
//! --server-token TOKEN`, or `BORESCOPE_SERVER` / `BORESCOPE_TOKEN`). Each tool is one or a
//! few requests through `borescope-snapshots`, the same calls `borescope snap` makes, rendered by
//! the same formatter.

use crate::params::schema;
use crate::response::error;
use crate::server::{BorescopeMcp, ToolResult};
use crate::snapshot_params::*;
use borescope_snapshots::hits::HitQuery;
use borescope_snapshots::instances::SILENT_AFTER_MS;
use borescope_snapshots::{hits, instances, now_ms, probes, services, ProbeInput, SnapError};
use borescope_snapshots_api::SnapshotKind;
use rmcp::model::JsonObject;
use rmcp::{tool, tool_router};
use std::time::Duration;

/// Unwraps a client result or returns its one-line message as a tool error.
macro_rules! or_tool_error {
    ($value:expr) => {
        match $value {
            Ok(value) => value,
            Err(e) => return Ok(error(SnapError::to_string(&e))),
        }
    };
}

/// Longest `wait_for_snapshot` timeout, seconds (clients give up on long calls).
const MAX_WAIT_SECS: f64 = 120.0;
/// Most snapshots one `wait_for_snapshot` returns.
const MAX_SNAPSHOTS: u32 = 20;

#[tool_router(router = snapshot_tool_router, vis = "pub(crate)")]
impl BorescopeMcp {
    #[tool(
        description = "Live snapshots, for services that are already running (possibly many processes, in production): ask every running instance of `service` to record a snapshot when `location` (FILE:LINE) executes: locals, arguments, the stack, `captures` expressions, or with `log` just a message. Nothing stops and the service keeps serving; captures are bounded and secrets redacted. Returns the probe id and how each live instance took it (installed, pending until the file is imported, or the error, e.g. no code at that line). Then make the line run (e.g. send a request) and call wait_for_snapshot. Conditions and expressions are a safe Python subset: names, attributes, subscripts, literals, comparisons, and/or/not, arithmetic, len/str/int/float/bool/isinstance. The instances run the borescope agent (`borescope run`, `borescope snap attach`, or the pip package); list_instances shows them.",
        input_schema = schema::<CreateSnapshotParams>()
    )]
    async fn create_snapshot(&self, arguments: JsonObject) -> ToolResult {
        let params: CreateSnapshotParams = arguments!("create_snapshot", arguments);
        let wait = params.wait_secs.unwrap_or(3.0);
        if !wait.is_finite() || !(0.0..=30.0).contains(&wait) {
            return Ok(error(format!("wait_secs {wait} must be between 0 and 30")));
        }
        let probe = or_tool_error!(
            ProbeInput {
                location: params.location,
                service: params.service,
                env: params.env,
                condition: params.condition,
                captures: params.captures,
                log: params.log,
                max_hits: params.max_hits,
                rate: params.rate,
                ttl: params.ttl,
                frames: params.frames,
            }
            .check()
        );
        let added = or_tool_error!(probes::create(&self.config.snapshots, &probe, Duration::from_secs_f64(wait)).await);
        let text = borescope_render::render_snap_added(&added.probe, &added.instances, added.waited_ms, now_ms());
        Ok(self.result(text, serde_json::to_value(&added).unwrap_or_default()))
    }

    #[tool(
        description = "The live-snapshot probes on the server (id, location, service, state, snapshots taken, how many instances installed each or failed), or with `probe_id` one probe in detail: its settings and every instance's status with its message (e.g. why it could not be installed, a condition that raised). With `exceptions: true`, the exception snapshots instead (see set_exception_snapshots): each exception with where it was raised, how often it happened, and the locals of every frame of its traceback.",
        input_schema = schema::<ListSnapshotsParams>(),
        annotations(read_only_hint = true)
    )]
    async fn list_snapshots(&self, arguments: JsonObject) -> ToolResult {
        let params: ListSnapshotsParams = arguments!("list_snapshots", arguments);
        let client = &self.config.snapshots;
        if params.exceptions {
            return self.list_exception_snapshots(params).await;
        }
        if let Some(id) = params.probe_id {
            let view = or_tool_error!(probes::get(client, id).await);
            let text = borescope_render::render_snap_probe(&view, now_ms());
            return Ok(self.result(text, serde_json::to_value(&view).unwrap_or_default()));
        }
        if let Some(service) = &params.service {
            or_tool_error!(borescope_snapshots::input::check_name("service", service));
        }
        let listing = or_tool_error!(probes::list(client, params.service.as_deref(), params.all).await);
        let text = borescope_render::render_snap_probes(&listing.probes, params.all, now_ms());
        Ok(self.result(text, serde_json::to_value(&listing).unwrap_or_default()))
    }

    #[tool(
        description = "The snapshots a probe took (create_snapshot's id), each as a report like a breakpoint stop: where, the source, the stack, the locals, the capture expressions (logpoints: the message). Returns at once when snapshots after `after` are stored (omit `after` for the first ones); otherwise waits up to `timeout_secs` for the next to arrive. Pass the answer's `next` as `after` to get the following ones.",
        input_schema = schema::<WaitForSnapshotParams>(),
        annotations(read_only_hint = true)
    )]
    async fn wait_for_snapshot(&self, arguments: JsonObject) -> ToolResult {
        let params: WaitForSnapshotParams = arguments!("wait_for_snapshot", arguments);
        let timeout = params.timeout_secs.unwrap_or(30.0);
        if !timeout.is_finite() || !(0.0..=MAX_WAIT_SECS).contains(&timeout) {
            return Ok(error(format!("timeout_secs {timeout} must be between 0 and {MAX_WAIT_SECS}")));
        }
        let limit = params.limit.unwrap_or(1);
        if !(1..=MAX_SNAPSHOTS).contains(&limit) {
            return Ok(error(format!("limit {limit} must be between 1 and {MAX_SNAPSHOTS}")));
        }
        let query = HitQuery { probe: Some(params.probe_id), service: None, kind: None, since_ms: None, after: params.after, limit };
        let listing = or_tool_error!(hits::wait_for(&self.config.snapshots, &query, Duration::from_secs_f64(timeout)).await);
        let text = if listing.snapshots.is_empty() {
            format!(
                "No snapshot of probe {} arrived within {timeout}s. Check that the instances installed it (list_snapshots with probe_id {}: installed, pending, or an error) and that the line runs (e.g. send the request that reaches it), then call wait_for_snapshot again.\n",
                params.probe_id, params.probe_id
            )
        } else {
            let scope = format!("of probe {}", params.probe_id);
            borescope_render::render_snapshots(&listing.snapshots, &scope, listing.more, listing.next, &self.render_context(None))
        };
        Ok(self.result(text, serde_json::to_value(&listing).unwrap_or_default()))
    }

    #[tool(
        description = "Exception snapshots for a running service: with `enabled: true` every instance of `service` records, when an exception escapes a request handler (Flask, FastAPI) or a thread, or is logged with its traceback, the exception and the locals of every frame of its traceback (bounded, secrets redacted), one per failure per minute with the other occurrences counted; `enabled: false` stops it; without `enabled`, shows the setting. Read them with list_snapshots and `exceptions: true`.",
        input_schema = schema::<SetExceptionSnapshotsParams>()
    )]
    async fn set_exception_snapshots(&self, arguments: JsonObject) -> ToolResult {
        let params: SetExceptionSnapshotsParams = arguments!("set_exception_snapshots", arguments);
        let client = &self.config.snapshots;
        let service = match params.enabled {
            Some(enabled) => or_tool_error!(services::set_exceptions(client, &params.service, enabled).await),
            None => or_tool_error!(services::get(client, &params.service).await),
        };
        let text = borescope_render::render_snap_service(&service, params.enabled.is_some());
        Ok(self.result(text, serde_json::to_value(&service).unwrap_or_default()))
    }

    #[tool(
        description = "Delete a live-snapshot probe (create_snapshot's id): every instance disarms it.",
        input_schema = schema::<DeleteSnapshotParams>()
    )]
    async fn delete_snapshot(&self, arguments: JsonObject) -> ToolResult {
        let params: DeleteSnapshotParams = arguments!("delete_snapshot", arguments);
        let deleted = or_tool_error!(probes::remove(&self.config.snapshots, params.probe_id).await);
        let text = format!("Deleted probe {}; instances disarm it.\n", deleted.id);
        Ok(self.result(text, serde_json::to_value(&deleted).unwrap_or_default()))
    }

    #[tool(
        description = "The processes running the live-snapshot agent that the server knows: service, environment, host, pid, Python version, hooking engine, when last heard from, and whether each is live, silent or gone. Use it to find the `service` name for create_snapshot.",
        input_schema = schema::<ListInstancesParams>(),
        annotations(read_only_hint = true)
    )]
    async fn list_instances(&self, arguments: JsonObject) -> ToolResult {
        let params: ListInstancesParams = arguments!("list_instances", arguments);
        if let Some(service) = &params.service {
            or_tool_error!(borescope_snapshots::input::check_name("service", service));
        }
        let listing = or_tool_error!(instances::list(&self.config.snapshots, params.service.as_deref()).await);
        let text = borescope_render::render_snap_instances(&listing.instances, now_ms(), SILENT_AFTER_MS);
        Ok(self.result(text, serde_json::to_value(&listing).unwrap_or_default()))
    }
}

impl BorescopeMcp {
    /// `list_snapshots` with `exceptions: true`.
    async fn list_exception_snapshots(&self, params: ListSnapshotsParams) -> ToolResult {
        if let Some(service) = &params.service {
            or_tool_error!(borescope_snapshots::input::check_name("service", service));
        }
        let limit = params.limit.unwrap_or(5);
        if !(1..=MAX_SNAPSHOTS).contains(&limit) {
            return Ok(error(format!("limit {limit} must be between 1 and {MAX_SNAPSHOTS}")));
        }
        let query = HitQuery {
            probe: None,
            service: params.service.clone(),
            kind: Some(SnapshotKind::Exception),
            since_ms: None,
            after: params.after,
            limit,
        };
        let listing = or_tool_error!(hits::list(&self.config.snapshots, &query).await);
        let scope = match &params.service {
            Some(service) => format!("of service {service} (exceptions only)"),
            None => "on the server (exceptions only)".to_string(),
        };
        let text = if listing.snapshots.is_empty() {
            format!("No exception snapshots {scope}. set_exception_snapshots turns them on for a service.\n")
        } else {
            borescope_render::render_snapshots(&listing.snapshots, &scope, listing.more, listing.next, &self.render_context(None))
        };
        Ok(self.result(text, serde_json::to_value(&listing).unwrap_or_default()))
    }
}
