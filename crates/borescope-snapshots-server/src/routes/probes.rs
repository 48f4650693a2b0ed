//! `/api/v1/probes` and `/api/v1/instances`: creating, reading, turning on and off and
//! deleting probes (each change wakes the service's agents and the web page's streams), the
//! source around a probe's line as an instance reported it, and the instances that run them.

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, Id};
use crate::state::AppState;
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use borescope_snapshots_api::people::{InstanceList, NewProbe, ProbeList, ProbePatch, ProbeSourceView, ProbeState, ProbeView};
use serde::Deserialize;

/// `GET /probes` and `GET /instances` filters.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    service: Option<String>,
    #[serde(default)]
    all: bool,
}

fn no_probe(id: i64) -> ApiError {
    ApiError::NotFound(format!("no probe {id}: it was deleted, or ended and was removed (`borescope snap list --all` shows what is kept)"))
}

pub(super) async fn create(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewProbe>,
) -> Result<(StatusCode, Json<ProbeView>), ApiError> {
    let record = validate::new_probe(new)?;
    let written = state.store.create_probe(&record).await?;
    state.wakeups.probes_changed(&record.service, written.version);
    state.wakeups.statuses_changed();
    tracing::info!(probe.id = written.probe.id, service = %record.service, "probe created");
    Ok((StatusCode::CREATED, Json(written.probe)))
}

pub(super) async fn list(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ProbeList>, ApiError> {
    if let Some(service) = &query.service {
        validate::name("service", service)?;
    }
    Ok(Json(ProbeList { probes: state.store.probes(query.service.as_deref(), query.all).await? }))
}

pub(super) async fn show(_: Admin, State(state): State<AppState>, Id(id): Id) -> Result<Json<ProbeView>, ApiError> {
    state.store.probe(id).await?.map(Json).ok_or_else(|| no_probe(id))
}

pub(super) async fn source(_: Admin, State(state): State<AppState>, Id(id): Id) -> Result<Json<ProbeSourceView>, ApiError> {
    let probe = state.store.probe(id).await?.ok_or_else(|| no_probe(id))?;
    Ok(Json(state.store.probe_source(id, probe.line).await?))
}

pub(super) async fn patch(
    _: Admin,
    State(state): State<AppState>,
    Id(id): Id,
    ApiJson(patch): ApiJson<ProbePatch>,
) -> Result<Json<ProbeView>, ApiError> {
    let current = state.store.probe(id).await?.ok_or_else(|| no_probe(id))?;
    let Some(enabled) = patch.enabled else {
        return Ok(Json(current));
    };
    if enabled {
        let ended = match current.state {
            ProbeState::Done => Some("reached its max_hits"),
            ProbeState::Expired => Some("expired"),
            ProbeState::Active | ProbeState::Disabled => None,
        };
        if let Some(why) = ended {
            return Err(ApiError::Conflict(format!("probe {id} {why} and cannot be turned on again: create a new one")));
        }
    }
    let written = state.store.set_enabled(id, enabled).await?.ok_or_else(|| no_probe(id))?;
    state.wakeups.probes_changed(&written.probe.service, written.version);
    state.wakeups.statuses_changed();
    Ok(Json(written.probe))
}

pub(super) async fn delete(_: Admin, State(state): State<AppState>, Id(id): Id) -> Result<StatusCode, ApiError> {
    let (service, version) = state.store.delete_probe(id).await?.ok_or_else(|| no_probe(id))?;
    state.wakeups.probes_changed(&service, version);
    state.wakeups.statuses_changed();
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn instances(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<InstanceList>, ApiError> {
    if let Some(service) = &query.service {
        validate::name("service", service)?;
    }
    Ok(Json(InstanceList { instances: state.store.instances(query.service.as_deref()).await? }))
}
