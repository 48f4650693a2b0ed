//! `/api/v1/keys`: agent keys, made here (the secret is shown once, in the answer), listed
//! without secrets, deleted.

use crate::auth::{self, Admin};
use crate::error::ApiError;
use crate::extract::{ApiJson, Id};
use crate::state::AppState;
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use borescope_snapshots_api::people::{CreatedKey, KeyList, NewKey};

pub(super) async fn create(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    validate::name("service", &new.service)?;
    let (key, shown) = auth::new_key().map_err(|e| ApiError::Internal(format!("no randomness for a key: {e}")))?;
    let info = state.store.create_key(&new.service, &auth::hash_key(&key), &shown).await?;
    tracing::info!(key.id = info.id, service = %info.service, "agent key created");
    Ok((StatusCode::CREATED, Json(CreatedKey { id: info.id, service: info.service, key })))
}

pub(super) async fn list(_: Admin, State(state): State<AppState>) -> Result<Json<KeyList>, ApiError> {
    Ok(Json(KeyList { keys: state.store.keys().await? }))
}

pub(super) async fn delete(_: Admin, State(state): State<AppState>, Id(id): Id) -> Result<StatusCode, ApiError> {
    if state.store.delete_key(id).await? {
        state.cache.forget_key(id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no agent key {id}: `borescope snap key list` shows the keys")))
    }
}
