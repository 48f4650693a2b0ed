//! `/api/v1/snapshots`: pages of stored snapshots by id cursor, with probe, service, kind and
//! time filters, and a long-poll (`wait`) that answers as soon as a matching snapshot is stored.

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Id};
use crate::state::AppState;
use crate::store::snapshots::SnapshotFilter;
use crate::validate;
use axum::extract::State;
use axum::Json;
use borescope_snapshots_api::limits::MAX_PAGE;
use borescope_snapshots_api::people::SnapshotPage;
use borescope_snapshots_api::{Snapshot, SnapshotKind};
use serde::Deserialize;

/// `GET /snapshots` parameters.
#[derive(Debug, Deserialize)]
pub(super) struct PageQuery {
    probe: Option<i64>,
    service: Option<String>,
    kind: Option<SnapshotKind>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    after: Option<i64>,
    limit: Option<u32>,
    wait: Option<u64>,
}

pub(super) async fn list(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<SnapshotPage>, ApiError> {
    if let Some(service) = &query.service {
        validate::name("service", service)?;
    }
    let limit = query.limit.unwrap_or(MAX_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::BadRequest(format!("limit={limit} must be between 1 and {MAX_PAGE}")));
    }
    let wait = validate::wait(query.wait)?;
    let filter = SnapshotFilter {
        probe: query.probe,
        service: query.service,
        kind: query.kind,
        since_ms: query.since_ms,
        until_ms: query.until_ms,
        after: query.after,
        limit,
    };
    let until = tokio::time::Instant::now() + wait;
    let mut stored = state.wakeups.snapshots();
    loop {
        stored.borrow_and_update();
        let snapshots = state.store.snapshots(&filter).await?;
        let waiting = snapshots.is_empty() && state.wakeups.wait(&mut stored, until, state.settings.recheck).await;
        if !waiting {
            let next = snapshots.last().map(|s| s.id).or(query.after);
            return Ok(Json(SnapshotPage { snapshots, next }));
        }
    }
}

pub(super) async fn show(_: Admin, State(state): State<AppState>, Id(id): Id) -> Result<Json<Snapshot>, ApiError> {
    state.store.snapshot(id).await?.map(Json).ok_or_else(|| {
        ApiError::NotFound(format!("no snapshot {id}: it was deleted with its probe, or by retention"))
    })
}
