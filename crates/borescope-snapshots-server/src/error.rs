//! Errors: [`ApiError`], what a request gets back (a status and an `ApiErrorBody` JSON body;
//! internal failures are logged once and answered without their details), and
//! [`ServerError`], why the server could not start or stopped.

use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use borescope_snapshots_api::ApiErrorBody;
use std::path::PathBuf;

/// A request's failure, answered as JSON with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or asks for something invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no credential, or an unknown one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid credential that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 409: the thing is in a state that does not allow this.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the server reads.
    #[error("{0}")]
    TooLarge(String),
    /// 500: the database (or the system) failed; the details go to the log only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let message = match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = %error, "request failed");
                "the server failed to answer; its log says why".to_string()
            }
            other => other.to_string(),
        };
        let body = ApiErrorBody { error: code.to_string(), message };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::Internal(error.to_string())
    }
}

/// Why the server could not start, or failed while serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory could not be created or written.
    #[error("cannot use the data directory `{}`: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The admin token file could not be read or written.
    #[error("cannot use the admin token file `{}`: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unusable (a short token, a URL we cannot serve, ...).
    #[error("{0}")]
    Config(String),
    /// The database could not be opened or migrated.
    #[error("cannot open the database {database}: {source}")]
    Database {
        /// Which database (never with a password).
        database: String,
        /// What failed.
        #[source]
        source: StoreError,
    },
    /// Serving failed.
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl ServerError {
    /// True when the fix is in the command line (a bad directory, token or URL), as opposed
    /// to something failing while running.
    pub fn is_input_error(&self) -> bool {
        matches!(self, ServerError::DataDir { .. } | ServerError::TokenFile { .. } | ServerError::Config(_))
    }
}
