//! Request extractors that answer bad input in the API's error shape (not axum's plain text):
//! [`ApiJson`] (a JSON body, gzip allowed, size-capped before and after decoding),
//! [`ApiQuery`] (the query string) and [`Id`] (a numeric path id).

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_ENCODING;
use axum::http::request::Parts;
use borescope_snapshots_api::limits::MAX_BODY_BYTES;
use serde::de::DeserializeOwned;
use std::io::Read;

/// A JSON request body (plain, or gzip with `Content-Encoding: gzip`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<ApiJson<T>, ApiError> {
        let gzip = match request.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase()) {
            None => false,
            Some(encoding) if encoding == "gzip" => true,
            Some(encoding) if encoding == "identity" => false,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "unsupported Content-Encoding `{other}`: send the body as it is, or gzip-compressed"
                )));
            }
        };
        let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await.map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                too_large_error("")
            } else {
                ApiError::BadRequest(format!("cannot read the request body: {error}"))
            }
        })?;
        let json = if gzip { gunzip(&body)? } else { body.to_vec() };
        serde_json::from_slice(&json)
            .map(ApiJson)
            .map_err(|error| ApiError::BadRequest(format!("malformed request body: {error}")))
    }
}

fn too_large_error(how: &str) -> ApiError {
    ApiError::TooLarge(format!(
        "the request body is larger than {} MiB{how}: send fewer snapshots per upload",
        MAX_BODY_BYTES >> 20
    ))
}

/// Decodes a gzip body, refusing one that grows past the size cap.
fn gunzip(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX) + 1;
    flate2::read::GzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|error| ApiError::BadRequest(format!("the body is not valid gzip: {error}")))?;
    if out.len() > MAX_BODY_BYTES {
        return Err(too_large_error(" once decompressed"));
    }
    Ok(out)
}

/// The query string, parsed into `T`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<ApiQuery<T>, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::BadRequest(format!("bad query string: {}", rejection.body_text())))
    }
}

/// The `{id}` of a path.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Id, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        text.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Id)
            .ok_or_else(|| ApiError::BadRequest(format!("`{text}` is not an id: ids are positive whole numbers")))
    }
}
