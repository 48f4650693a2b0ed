//! `GET /api/v1/events`: a Server-Sent Events stream for the web page (cookie or bearer).
//!
//! Events: `snapshot` (a summary row of each new snapshot, its id as the event id, oldest
//! first) and `probes` (probes or their statuses or sources changed: read them again). On
//! connect the stream resumes after `Last-Event-ID` (or `?after=ID`); without either it first
//! sends the newest `backlog` snapshots (default 100, at most 500). `?probe=ID` and
//! `?service=NAME` filter the snapshots. A comment every 15 s keeps proxies from closing it.
//! A task per stream waits on the wakeups (and re-reads every `recheck` for other servers'
//! writes); it ends when the client goes or the server shuts down, which ends the response,
//! so shutdown never waits on open streams.

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::store::snapshots::SnapshotFilter;
use crate::validate;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use borescope_snapshots_api::limits::MAX_PAGE;
use borescope_snapshots_api::Snapshot;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;

const DEFAULT_BACKLOG: u32 = 100;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Snapshots read per query while catching up.
const BATCH: u32 = 200;

/// `GET /events` parameters.
#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    after: Option<i64>,
    backlog: Option<u32>,
    probe: Option<i64>,
    service: Option<String>,
}

pub(super) async fn stream(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if let Some(service) = &query.service {
        validate::name("service", service)?;
    }
    let backlog = query.backlog.unwrap_or(DEFAULT_BACKLOG);
    if backlog > MAX_PAGE {
        return Err(ApiError::BadRequest(format!("backlog={backlog} must be at most {MAX_PAGE}")));
    }
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(value.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok()).ok_or_else(|| {
            ApiError::BadRequest("Last-Event-ID must be the id of a snapshot event".into())
        })?),
        None => query.after,
    };
    let cursor = match resume {
        Some(id) => id,
        None => state.store.cursor_before_newest(backlog).await?,
    };
    let filter = SnapshotFilter { probe: query.probe, service: query.service, after: Some(cursor), limit: BATCH, ..SnapshotFilter::default() };
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(feed(state, filter, sender));
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// Sends what is new until the client leaves or the server shuts down.
async fn feed(state: AppState, mut filter: SnapshotFilter, sender: mpsc::Sender<Event>) {
    let mut stored = state.wakeups.snapshots();
    let mut statuses = state.wakeups.statuses();
    let mut shutdown = state.wakeups.shutdown_signal();
    loop {
        stored.borrow_and_update();
        loop {
            let page = match state.store.snapshots(&filter).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "the event stream cannot read snapshots; closing it");
                    return;
                }
            };
            for snapshot in &page {
                let event = Event::default().event("snapshot").id(snapshot.id.to_string()).data(summary(snapshot).to_string());
                if sender.send(event).await.is_err() {
                    return;
                }
                filter.after = Some(snapshot.id);
            }
            if page.len() < BATCH as usize {
                break;
            }
        }
        if *shutdown.borrow_and_update() {
            return;
        }
        tokio::select! {
            _ = stored.changed() => {}
            changed = statuses.changed() => {
                if changed.is_err() || sender.send(Event::default().event("probes").data("{}")).await.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(state.settings.recheck) => {}
            _ = shutdown.changed() => return,
            () = sender.closed() => return,
        }
    }
}

/// What the page's list shows of a snapshot (the rest comes from `GET /snapshots/{id}`).
fn summary(snapshot: &Snapshot) -> Value {
    let full = serde_json::to_value(snapshot).unwrap_or(Value::Null);
    json!({
        "id": snapshot.id,
        "kind": full.get("kind").cloned().unwrap_or_else(|| json!("probe")),
        "probe_id": full.get("probe_id").cloned().unwrap_or(Value::Null),
        "service": snapshot.service,
        "instance_id": snapshot.instance_id,
        "host": snapshot.host,
        "pid": snapshot.pid,
        "time_ms": snapshot.data.time_ms,
        "received_ms": snapshot.received_ms,
        "file": snapshot.data.location.as_ref().map(|l| l.file.clone()),
        "line": snapshot.data.location.as_ref().map(|l| l.line),
        "function": snapshot.data.function,
        "message": snapshot.data.message,
        "exception": full.get("exception").cloned().unwrap_or(Value::Null),
    })
}
