//! `/api/v1/services`: the services the server knows, and turning a service's exception
//! snapshots on or off (which wakes its long-polling agents).

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::validate;
use axum::extract::{Path, State};
use axum::Json;
use borescope_snapshots_api::people::{ExceptionSwitch, ServiceInfo, ServiceList};

pub(super) async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<ServiceList>, ApiError> {
    Ok(Json(ServiceList { services: state.store.services(None).await? }))
}

pub(super) async fn set_exceptions(
    _: Admin,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(switch): ApiJson<ExceptionSwitch>,
) -> Result<Json<ServiceInfo>, ApiError> {
    validate::name("service", &name)?;
    let version = state.store.set_exceptions(&name, switch.enabled).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no service `{name}`: a service is known once it has an agent key (`borescope snap key add --service {name}`)"
        ))
    })?;
    state.wakeups.probes_changed(&name, version);
    tracing::info!(service = %name, enabled = switch.enabled, "exception snapshots switched");
    let info = state.store.services(Some(&name)).await?.into_iter().next();
    info.map(Json).ok_or_else(|| ApiError::NotFound(format!("no service `{name}`")))
}
