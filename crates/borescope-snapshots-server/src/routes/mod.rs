//! The HTTP API under `/api/v1`: [`router`] joins the people's endpoints ([`probes`],
//! [`snapshots`], [`keys`], [`services`], the web page's event stream [`events`]) and the agents'
//! ([`agent`]), each a thin handler over the store, the web page itself ([`page`], outside
//! `/api/v1`), plus a request span per call and JSON 404s for unknown paths.

mod agent;
mod events;
mod keys;
mod page;
mod probes;
mod services;
mod snapshots;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use borescope_snapshots_api::people::Health;
use tracing::Instrument;

/// The API's router, with its state.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/probes", post(probes::create).get(probes::list))
        .route("/probes/{id}", get(probes::show).patch(probes::patch).delete(probes::delete))
        .route("/probes/{id}/source", get(probes::source))
        .route("/events", get(events::stream))
        .route("/instances", get(probes::instances))
        .route("/snapshots", get(snapshots::list))
        .route("/snapshots/{id}", get(snapshots::show))
        .route("/services", get(services::list))
        .route("/services/{name}/exceptions", axum::routing::put(services::set_exceptions))
        .route("/keys", post(keys::create).get(keys::list))
        .route("/keys/{id}", axum::routing::delete(keys::delete))
        .route("/agent/register", post(agent::register))
        .route("/agent/probes", get(agent::probes))
        .route("/agent/snapshots", post(agent::upload))
        .route("/agent/status", post(agent::status))
        .route("/agent/bye", post(agent::bye));
    Router::new()
        .nest(borescope_snapshots_api::API_PREFIX, api)
        .merge(page::router())
        .fallback(unknown)
        .layer(axum::middleware::from_fn(trace))
        .with_state(state)
}

async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        database: state.store.backend().name().into(),
    })
}

async fn unknown(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no endpoint {} {}: the API lives under {}/ (see docs/snapshots-api.md)",
        request.method(),
        request.uri().path(),
        borescope_snapshots_api::API_PREFIX
    ))
}

/// One span per request, named by its route template (not the raw path, so ids stay out of
/// span names), and one debug event with the status.
async fn trace(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unknown".to_string(), |p| p.as_str().to_string());
    let span = tracing::debug_span!("request", method = %request.method(), route = %route);
    async move {
        let started = std::time::Instant::now();
        let response = next.run(request).await;
        tracing::debug!(status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "answered");
        response
    }
    .instrument(span)
    .await
}
