//! The web page at `/`: plain HTML, CSS and JavaScript from `web/`, embedded in the binary
//! (no CDN, no build step), served with a strict Content-Security-Policy (`default-src 'self'`,
//! no inline script or style), `X-Frame-Options: DENY` and `nosniff`. Also the login form
//! (`GET`/`POST /login`, the admin token in, the session cookie out; a wrong token waits
//! [`WRONG_TOKEN_DELAY`] in a one-at-a-time queue and gets the form again with an error),
//! `POST /logout`, and `GET /session` (the page's CSRF token). The page itself talks to the
//! JSON API under `/api/v1` with the cookie; see `session` for what the cookie is.

use crate::session::{self, WRONG_TOKEN_DELAY};
use crate::state::AppState;
use crate::store::now_ms;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const LOGIN_HTML: &str = include_str!("../../web/login.html");
const APP_JS: &str = include_str!("../../web/app.js");
const DOM_JS: &str = include_str!("../../web/dom.js");
const VALUES_JS: &str = include_str!("../../web/values.js");
const APP_CSS: &str = include_str!("../../web/app.css");

const JS: &str = "text/javascript; charset=utf-8";

/// Where the login page shows an error.
const ERROR_SLOT: &str = "<!--error-->";
const WRONG_TOKEN: &str = r#"<p class="login-error" role="alert">That is not this server's admin token.</p>"#;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// The page's routes (outside `/api/v1`), with their security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/session", get(session_info))
        .route("/assets/app.js", get(|| async { asset(JS, APP_JS) }))
        .route("/assets/dom.js", get(|| async { asset(JS, DOM_JS) }))
        .route("/assets/values.js", get(|| async { asset(JS, VALUES_JS) }))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .layer(axum::middleware::from_fn(security_headers))
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CSP));
    headers.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("same-origin"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    // Embedded in the binary: revalidated on each load, so an upgrade is seen at once.
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")], body).into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-store")], body).into_response()
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to), (CACHE_CONTROL, "no-store")]).into_response()
}

fn logged_in(state: &AppState, headers: &HeaderMap) -> Option<session::Session> {
    session::cookie(headers).and_then(|cookie| state.sessions.verify(cookie, now_ms()))
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match logged_in(&state, &headers) {
        Some(_) => html(StatusCode::OK, INDEX_HTML.to_string()),
        None => redirect("/login"),
    }
}

async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match logged_in(&state, &headers) {
        Some(_) => redirect("/"),
        None => html(StatusCode::OK, LOGIN_HTML.to_string()),
    }
}

/// The login form's body.
#[derive(Deserialize)]
pub(super) struct Login {
    #[serde(default)]
    token: String,
}

async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<Login>) -> Response {
    if let Err(refused) = session::same_origin(&headers) {
        return refused.into_response();
    }
    let given = crate::auth::digest(form.token.trim());
    if crate::auth::constant_time_eq(&given, &state.settings.token_digest) {
        return match state.sessions.issue(now_ms()) {
            Ok((cookie, _)) => {
                tracing::info!("web login");
                let mut response = redirect("/");
                response.headers_mut().insert(SET_COOKIE, session::set_cookie(&cookie));
                response
            }
            Err(error) => crate::error::ApiError::Internal(format!("no randomness for a session: {error}")).into_response(),
        };
    }
    // One wrong guess at a time, each answered after the delay.
    let _queue = state.sessions.failed_logins.lock().await;
    tokio::time::sleep(WRONG_TOKEN_DELAY).await;
    tracing::info!("web login with a wrong token");
    html(StatusCode::UNAUTHORIZED, LOGIN_HTML.replace(ERROR_SLOT, WRONG_TOKEN))
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(session) = logged_in(&state, &headers)
        && let Err(refused) = state.sessions.check_csrf(&session, &headers)
    {
        return refused.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, session::clear_cookie());
    response
}

/// `GET /session`: what the page needs to know about its session.
#[derive(Serialize)]
struct SessionInfo {
    csrf: String,
    expires_ms: i64,
    csrf_header: &'static str,
}

async fn session_info(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match logged_in(&state, &headers) {
        Some(session) => {
            let info = SessionInfo { csrf: state.sessions.csrf(&session), expires_ms: session.expires_ms, csrf_header: session::CSRF_HEADER };
            ([(CACHE_CONTROL, "no-store")], Json(info)).into_response()
        }
        None => crate::error::ApiError::Unauthorized("not logged in: log in at /login".into()).into_response(),
    }
}
