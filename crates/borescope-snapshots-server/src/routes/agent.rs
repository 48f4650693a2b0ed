//! `/api/v1/agent/*`: what agents call with their key. Every call names an instance, which
//! must be registered for the key's service (404 before registration, 403 for another
//! service's), and marks it as seen.

use crate::auth::Agent;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::instances::{InstanceInfo, RegisterOutcome};
use crate::store::snapshots::{group, Incoming, Source, UploadBatch};
use crate::{store, validate};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use borescope_snapshots_api::agent::{Bye, ExceptionSettings, Occurrences, ProbeSet, Register, Registered, StatusReport, Uploaded};
use borescope_snapshots_api::{SnapshotData, SnapshotKind};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The registered instance `instance_id`, if it belongs to the key's service.
async fn instance(state: &AppState, agent: &Agent, instance_id: &str) -> Result<InstanceInfo, ApiError> {
    validate::instance_id(instance_id)?;
    let info = match state.cache.instance(instance_id) {
        Some(info) => info,
        None => {
            let info = state.store.instance_info(instance_id).await?.ok_or_else(|| {
                ApiError::NotFound(format!(
                    "instance `{instance_id}` is not registered (or was removed after a long silence): POST /api/v1/agent/register first"
                ))
            })?;
            state.cache.put_instance(instance_id, &info);
            info
        }
    };
    if info.service != agent.service {
        return Err(ApiError::Forbidden(format!(
            "instance `{instance_id}` belongs to service `{}`, not to this key's service `{}`",
            info.service, agent.service
        )));
    }
    Ok(info)
}

pub(super) async fn register(
    agent: Agent,
    State(state): State<AppState>,
    ApiJson(register): ApiJson<Register>,
) -> Result<Json<Registered>, ApiError> {
    validate::register(&register)?;
    agent.check_service(&register.service)?;
    state.cache.forget_instance(&register.instance_id);
    if let RegisterOutcome::OtherService(service) = state.store.register(&register).await? {
        return Err(ApiError::Forbidden(format!(
            "instance id `{}` is registered for service `{service}`: choose a new random instance id",
            register.instance_id
        )));
    }
    let version = store::service_version(state.store.reader(), &register.service).await?;
    tracing::info!(key.id = agent.key_id, instance = %register.instance_id, service = %register.service, pid = register.pid, "instance registered");
    Ok(Json(Registered { instance_id: register.instance_id, version }))
}

/// `GET /agent/probes` parameters.
#[derive(Debug, Deserialize)]
pub(super) struct PollQuery {
    instance: String,
    since: Option<i64>,
    wait: Option<u64>,
}

pub(super) async fn probes(
    agent: Agent,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PollQuery>,
) -> Result<Json<ProbeSet>, ApiError> {
    let wait = validate::wait(query.wait)?;
    let info = instance(&state, &agent, &query.instance).await?;
    state.store.touch_instance(&query.instance).await?;
    let since = query.since.unwrap_or(0);
    let until = tokio::time::Instant::now() + wait;
    let mut changes = state.wakeups.probes(&info.service);
    let version = loop {
        changes.borrow_and_update();
        let version = store::service_version(state.store.reader(), &info.service).await?;
        if version != since || !state.wakeups.wait(&mut changes, until, state.settings.recheck).await {
            break version;
        }
    };
    let probes = state.store.active_probes(&info.service, info.env.as_deref()).await?;
    let exceptions = ExceptionSettings { enabled: state.store.exceptions_enabled(&info.service).await?, ..ExceptionSettings::default() };
    Ok(Json(ProbeSet {
        version,
        probes,
        redact: state.settings.redact.clone(),
        global_rate: state.settings.global_rate,
        exceptions,
    }))
}

/// An upload as it arrives: each snapshot is checked against `SnapshotData` but stored as the
/// agent sent it (no second serialisation).
#[derive(Debug, Deserialize)]
pub(super) struct RawUpload {
    instance_id: String,
    snapshots: Vec<Box<RawValue>>,
    #[serde(default)]
    dropped: u64,
    #[serde(default)]
    occurrences: Vec<Occurrences>,
    /// The agent's id for this upload (a retry carries the same one).
    #[serde(default)]
    batch: Option<String>,
}

pub(super) async fn upload(
    agent: Agent,
    State(state): State<AppState>,
    ApiJson(upload): ApiJson<RawUpload>,
) -> Result<Json<Uploaded>, ApiError> {
    let info = instance(&state, &agent, &upload.instance_id).await?;
    if let Some(batch) = &upload.batch {
        validate::batch_id(batch)?;
    }
    let snapshots = upload
        .snapshots
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            let data: SnapshotData = serde_json::from_str(raw.get())
                .map_err(|e| ApiError::BadRequest(format!("malformed request body: snapshot {index}: {e}")))?;
            Ok(Incoming { source: source(index, &data)?, time_ms: data.time_ms, json: raw.get().to_string() })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let service = info.service.clone();
    if upload.occurrences.len() > borescope_snapshots_api::limits::MAX_PAGE as usize {
        return Err(ApiError::BadRequest(format!("{} occurrence counts in one upload; at most {}", upload.occurrences.len(), borescope_snapshots_api::limits::MAX_PAGE)));
    }
    let batch = UploadBatch {
        instance_id: upload.instance_id,
        instance: info,
        snapshots,
        dropped: upload.dropped,
        occurrences: upload.occurrences,
        batch_id: upload.batch,
    };
    let stored = state.ingest.store(batch).await.map_err(ApiError::Internal)?;
    if stored.accepted > 0 {
        state.wakeups.snapshots_stored();
    }
    if let Some(version) = stored.bumped {
        state.wakeups.probes_changed(&service, version);
    }
    if stored.rejected > 0 {
        tracing::debug!(rejected = stored.rejected, "snapshots refused");
    }
    if stored.repeated {
        tracing::debug!(accepted = stored.accepted, "a batch sent again: answered as stored before");
    }
    Ok(Json(Uploaded { accepted: stored.accepted, rejected: stored.rejected }))
}

/// What made an uploaded snapshot: a probe snapshot names its probe, an exception snapshot its
/// exception (and no probe).
fn source(index: usize, data: &SnapshotData) -> Result<Source, ApiError> {
    match (data.kind, data.probe_id, &data.exception) {
        (SnapshotKind::Probe, Some(id), None) => Ok(Source::Probe(id)),
        (SnapshotKind::Exception, None, Some(exception)) => Ok(Source::Exception {
            group: group(&exception.type_name, exception.file.as_deref().unwrap_or(""), exception.line.unwrap_or(0)),
            occurrences: exception.occurrences.max(1),
        }),
        (SnapshotKind::Probe, _, _) => Err(ApiError::BadRequest(format!(
            "malformed request body: snapshot {index}: a probe snapshot needs a probe_id and no exception"
        ))),
        (SnapshotKind::Exception, _, _) => Err(ApiError::BadRequest(format!(
            "malformed request body: snapshot {index}: an exception snapshot needs an exception and a null probe_id"
        ))),
    }
}

pub(super) async fn status(
    agent: Agent,
    State(state): State<AppState>,
    ApiJson(report): ApiJson<StatusReport>,
) -> Result<StatusCode, ApiError> {
    let info = instance(&state, &agent, &report.instance_id).await?;
    for entry in &report.statuses {
        if entry.message.as_ref().is_some_and(|m| m.len() > 4096) {
            return Err(ApiError::BadRequest(format!("the message for probe {} is longer than 4096 bytes", entry.probe_id)));
        }
        if let Some(source) = &entry.source {
            validate::source(entry.probe_id, source)?;
        }
    }
    let now = store::now_ms();
    state.store.report_statuses(&report.instance_id, &info.service, &report.statuses, now).await?;
    for entry in &report.statuses {
        if let Some(source) = &entry.source {
            state.store.report_source(entry.probe_id, &info.service, &report.instance_id, source, now).await?;
        }
    }
    state.wakeups.statuses_changed();
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn bye(
    agent: Agent,
    State(state): State<AppState>,
    ApiJson(bye): ApiJson<Bye>,
) -> Result<StatusCode, ApiError> {
    instance(&state, &agent, &bye.instance_id).await?;
    state.store.instance_gone(&bye.instance_id).await?;
    tracing::info!(instance = %bye.instance_id, "instance said goodbye");
    Ok(StatusCode::NO_CONTENT)
}
