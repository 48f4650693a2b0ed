//! The web page's side of the server: the embedded page and its headers, logging in and out
//! with the admin token, the session cookie standing for the token on the API (GET with the
//! cookie alone, changes only with the CSRF token and from the same origin), and the bearer
//! token working exactly as before.

use crate::common::{Answer, Db, TestServer};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// One request with any headers.
pub async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut builder = Request::builder().method(method).uri(path).header("host", addr.to_string());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = sender.send_request(builder.body(Full::new(Bytes::from(body.to_vec()))).expect("request")).await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, json, text }
}

/// A logged-in browser: the cookie header and the CSRF token.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

pub async fn log_in(server: &TestServer) -> Browser {
    let body = format!("token={}", server.token);
    let answer = send(server.addr, "POST", "/login", &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes()).await;
    answer.expect(303);
    let set = answer.headers["set-cookie"].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let info = send(server.addr, "GET", "/session", &[("cookie", &cookie)], b"").await;
    info.expect(200);
    Browser { cookie, csrf: info.json["csrf"].as_str().unwrap().to_string() }
}

fn header(answer: &Answer, name: &str) -> String {
    answer.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

async fn logging_in_sets_a_strict_http_only_cookie_and_a_wrong_token_gets_the_form_again(db: Db) {
    let server = TestServer::start(&db).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];

    let wrong = send(server.addr, "POST", "/login", &form, b"token=not-the-token-at-all").await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert!(wrong.headers.get("set-cookie").is_none());
    assert!(wrong.text.contains("class=\"login-error\"") && wrong.text.contains("not this server's admin token"), "{}", wrong.text);
    assert!(!wrong.text.contains("not-the-token-at-all"), "the page never repeats what was typed");

    let body = format!("token={}", server.token);
    let right = send(server.addr, "POST", "/login", &form, body.as_bytes()).await;
    right.expect(303);
    assert_eq!(header(&right, "location"), "/");
    let set = header(&right, "set-cookie");
    assert!(set.starts_with("borescope_session=1."), "{set}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.split("; ").any(|a| a == attribute), "{attribute} in {set}");
    }
    assert!(!set.contains(&server.token), "the cookie does not hold the token");

    // A login form posted from another site is refused.
    let cross = send(server.addr, "POST", "/login", &[form[0], ("origin", "http://evil.example")], body.as_bytes()).await;
    cross.expect_error(403, "forbidden", "cross-site");
    server.stop().await;
}

async fn the_cookie_reads_with_get_and_changes_only_with_the_csrf_token(db: Db) {
    let server = TestServer::start(&db).await;
    let browser = log_in(&server).await;
    let cookie = ("cookie", browser.cookie.as_str());
    let json_type = ("content-type", "application/json");
    let probe = serde_json::to_vec(&json!({"service": "api", "file": "app.py", "line": 3})).unwrap();

    send(server.addr, "GET", "/api/v1/probes", &[cookie], b"").await.expect(200);
    send(server.addr, "GET", "/api/v1/instances", &[cookie], b"").await.expect(200);

    let none = send(server.addr, "POST", "/api/v1/probes", &[cookie, json_type], &probe).await;
    none.expect_error(403, "forbidden", "x-borescope-csrf");
    let wrong = send(server.addr, "POST", "/api/v1/probes", &[cookie, json_type, ("x-borescope-csrf", "00ff")], &probe).await;
    wrong.expect_error(403, "forbidden", "CSRF");
    let csrf = ("x-borescope-csrf", browser.csrf.as_str());
    let other_site = send(server.addr, "POST", "/api/v1/probes", &[cookie, json_type, csrf, ("sec-fetch-site", "cross-site")], &probe).await;
    other_site.expect_error(403, "forbidden", "cross-site");
    let origin = send(server.addr, "POST", "/api/v1/probes", &[cookie, json_type, csrf, ("origin", "http://evil.example")], &probe).await;
    origin.expect_error(403, "forbidden", "cross-site");
    assert_eq!(server.admin("GET", "/api/v1/probes", None).await.json["probes"], json!([]), "nothing was created");

    let host_origin = format!("http://{}", server.addr);
    let created = send(
        server.addr,
        "POST",
        "/api/v1/probes",
        &[cookie, json_type, csrf, ("origin", &host_origin), ("sec-fetch-site", "same-origin")],
        &probe,
    )
    .await;
    created.expect(201);
    let path = format!("/api/v1/probes/{}", created.json["id"]);
    send(server.addr, "DELETE", &path, &[cookie], b"").await.expect_error(403, "forbidden", "CSRF");
    send(server.addr, "DELETE", &path, &[cookie, csrf], b"").await.expect(204);

    // A forged or foreign cookie is not a session.
    let forged = browser.cookie.replace("borescope_session=1.", "borescope_session=1.9");
    send(server.addr, "GET", "/api/v1/probes", &[("cookie", &forged)], b"").await.expect_error(401, "unauthorized", "log in again");
    server.stop().await;
}

async fn bearer_tokens_work_as_before_and_decide_alone_when_sent(db: Db) {
    let server = TestServer::start(&db).await;
    let browser = log_in(&server).await;
    // The bearer token needs no CSRF token.
    server.admin("POST", "/api/v1/probes", Some(json!({"service": "api", "file": "a.py", "line": 1}))).await.expect(201);
    // A wrong bearer token fails even with a valid cookie beside it.
    let both = send(server.addr, "GET", "/api/v1/probes", &[("cookie", &browser.cookie), ("authorization", "Bearer wrong-token-123")], b"").await;
    both.expect_error(401, "unauthorized", "wrong admin token");
    // No credential at all: the same answer as before the page existed.
    let bare = send(server.addr, "GET", "/api/v1/probes", &[], b"").await;
    bare.expect_error(401, "unauthorized", "Authorization: Bearer");
    assert_eq!(header(&bare, "www-authenticate"), "Bearer");
    // The session endpoint wants the cookie, not the token.
    send(server.addr, "GET", "/session", &[("authorization", &format!("Bearer {}", server.token))], b"").await.expect(401);
    server.stop().await;
}

async fn logging_out_clears_the_cookie_and_a_new_token_ends_old_sessions(db: Db) {
    let server = TestServer::start(&db).await;
    let browser = log_in(&server).await;
    let cookie = ("cookie", browser.cookie.as_str());
    send(server.addr, "POST", "/logout", &[cookie], b"").await.expect_error(403, "forbidden", "CSRF");
    let out = send(server.addr, "POST", "/logout", &[cookie, ("x-borescope-csrf", &browser.csrf)], b"").await;
    out.expect(204);
    let set = header(&out, "set-cookie");
    assert!(set.starts_with("borescope_session=;") && set.contains("Max-Age=0"), "{set}");
    server.stop().await;

    // The same data directory served with another token: the old cookie is no session there.
    let mut config = db.config();
    config.token = Some("another-admin-token-0123456789".into());
    let again = TestServer::start_with(config).await;
    send(again.addr, "GET", "/api/v1/probes", &[cookie], b"").await.expect_error(401, "unauthorized", "log in again");
    send(again.addr, "GET", "/", &[cookie], b"").await.expect(303);
    again.stop().await;
}

async fn the_page_and_its_assets_are_served_with_a_strict_policy(db: Db) {
    let server = TestServer::start(&db).await;
    let away = send(server.addr, "GET", "/", &[], b"").await;
    away.expect(303);
    assert_eq!(header(&away, "location"), "/login");
    let login = send(server.addr, "GET", "/login", &[], b"").await;
    login.expect(200);
    assert!(login.text.contains("<form class=\"login\" method=\"post\" action=\"/login\">"));
    assert!(!login.text.contains("login-error"), "no error before a try");

    let browser = log_in(&server).await;
    let page = send(server.addr, "GET", "/", &[("cookie", &browser.cookie)], b"").await;
    page.expect(200);
    assert!(page.text.contains("<script type=\"module\" src=\"/assets/app.js\"></script>"));
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/login", "text/html; charset=utf-8"),
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/dom.js", "text/javascript; charset=utf-8"),
        ("/assets/values.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
    ] {
        let answer = send(server.addr, "GET", path, &[("cookie", &browser.cookie)], b"").await;
        let answer = if path == "/login" { send(server.addr, "GET", path, &[], b"").await } else { answer };
        answer.expect(200);
        assert_eq!(header(&answer, "content-type"), content_type, "{path}");
        let csp = header(&answer, "content-security-policy");
        assert!(csp.starts_with("default-src 'self'; script-src 'self'; style-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(header(&answer, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&answer, "x-content-type-options"), "nosniff", "{path}");
        assert!(!header(&answer, "cache-control").is_empty(), "{path}");
    }
    // No inline script or style anywhere in the page.
    for path in ["/", "/login"] {
        let text = send(server.addr, "GET", path, &[("cookie", &browser.cookie)], b"").await.text;
        let text = if path == "/login" { send(server.addr, "GET", path, &[], b"").await.text } else { text };
        assert!(!text.contains("<script>") && !text.contains("<style") && !text.contains(" style="), "{path}");
    }
    server.stop().await;
}

crate::on_both!(
    logging_in_sets_a_strict_http_only_cookie_and_a_wrong_token_gets_the_form_again,
    the_cookie_reads_with_get_and_changes_only_with_the_csrf_token,
    bearer_tokens_work_as_before_and_decide_alone_when_sent,
    logging_out_clears_the_cookie_and_a_new_token_ends_old_sessions,
    the_page_and_its_assets_are_served_with_a_strict_policy,
);
