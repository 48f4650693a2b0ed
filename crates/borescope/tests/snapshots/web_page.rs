//! The web page in a real browser: Debian's Chromium, headless, driven over WebDriver
//! (chromedriver, with the fantoccini client) against a real `borescope server` and the Flask
//! shop under `borescope run`. Logs in (a wrong token first), creates probes through the form
//! (a bad condition answered next to its field; a line without code answered by the agent on
//! the probe), watches the status turn installed and the source appear, requests the app and
//! sees the snapshot arrive without a reload, opens it, expands a nested local, sees a
//! redacted value marked, deletes the probe, shows the service's instance, turns exception
//! snapshots on and sees a failing request's snapshot arrive. A PNG of each step goes to
//! `$CARGO_TARGET_DIR/test-artifacts/web/` (the path is printed).

use crate::{ctx, flask_shop, hit, instances, line_of, Py, Server};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(30);

/// chromedriver on a loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(log: &Path) -> Driver {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: the browser test needs Debian's chromium and chromium-driver; run scripts/test-setup.sh"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened on {port} (its log: {})", log.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(".."));
    let dir = target.join("test-artifacts").join("web");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    dir
}

async fn shot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    match client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(error) => {
            let body = client.find(Locator::Css("body")).await.ok();
            let text = match body {
                Some(body) => body.text().await.unwrap_or_default(),
                None => String::new(),
            };
            shot(client, &artifacts(), "failed").await;
            panic!("no `{css}` on the page ({error}); it shows (and failed.png):\n{text}");
        }
    }
}

/// Clicks `css`, finding it again when the page redrew it between the find and the click (the
/// page redraws live parts as events arrive).
async fn click(client: &Client, css: &str) {
    for _ in 0..20 {
        match find(client, css).await.click().await {
            Ok(()) => return,
            Err(fantoccini::error::CmdError::Standard(e)) if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
            Err(error) => panic!("click `{css}`: {error}"),
        }
    }
    panic!("`{css}` kept being redrawn before it could be clicked");
}

async fn fill(client: &Client, css: &str, text: &str) {
    let input = find(client, css).await;
    input.clear().await.expect("clear");
    input.send_keys(text).await.expect("type");
}

#[test]
fn the_web_page_in_chromium_creates_a_probe_and_shows_its_snapshot_live() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let (app, port) = flask_shop(&ctx, &server, &key, Py::Host);
    instances(&server, "shop", 1);
    let view_line = line_of(&ctx, "shop_flask.py", "PROBE: view");
    let dir = artifacts();
    // Where to look at the screenshots (shown with --no-capture, and with a failure).
    #[allow(clippy::print_stdout)]
    {
        println!("screenshots in {}", dir.display());
    }
    let driver = Driver::start(&ctx.root.join("chromedriver.log"));
    let profile = ctx.root.join("chromium-profile");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1360,900",
                "--no-first-run", format!("--user-data-dir={}", profile.display())
            ]}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a Chromium session through chromedriver");

        // Not logged in: the login form. A wrong token gets it again, with an error.
        client.goto(&server.url).await.expect("open the page");
        assert!(client.current_url().await.expect("url").path().ends_with("/login"));
        fill(&client, "#token", "not-the-admin-token").await;
        find(&client, "form.login button").await.click().await.expect("log in");
        let error = find(&client, ".login-error").await.text().await.expect("text");
        assert_eq!(error, "That is not this server's admin token.");
        shot(&client, &dir, "01-login-wrong-token").await;
        fill(&client, "#token", &server.token).await;
        find(&client, "form.login button").await.click().await.expect("log in");
        find(&client, "#live.on").await;
        find(&client, "form.probe-form").await;

        // A condition the server refuses: its message next to the field.
        fill(&client, "#probe-service", "shop").await;
        fill(&client, "#probe-file", "shop_flask.py").await;
        fill(&client, "#probe-line", &view_line.to_string()).await;
        fill(&client, "#probe-condition", "__import__('os')").await;
        find(&client, "#create-probe").await.click().await.expect("create");
        let refused = find(&client, ".field.invalid[data-field=condition] .error").await.text().await.expect("text");
        assert!(refused.starts_with("condition `__import__('os')`"), "{refused}");
        shot(&client, &dir, "02-inline-error").await;

        // The probe: created through the form, installed, its source shown.
        find(&client, "#probe-condition").await.clear().await.expect("clear");
        fill(&client, "#probe-captures", "customer['tier']").await;
        find(&client, "#create-probe").await.click().await.expect("create");
        find(&client, ".statuses .s-installed").await;
        let current = find(&client, "pre.source .src-line.current").await.text().await.expect("text");
        assert!(current.starts_with(&view_line.to_string()) && current.contains("PROBE: view"), "{current}");
        let source = find(&client, "pre.source").await.text().await.expect("text");
        assert!(source.contains(r#"password = "<redacted>""#) && !source.contains("hunter2"), "secrets in the source stay in the app: {source}");
        let probe_url = client.current_url().await.expect("url");
        let probe_id: i64 = probe_url.fragment().and_then(|f| f.strip_prefix("/probes/")).and_then(|id| id.parse().ok()).expect("#/probes/ID");
        shot(&client, &dir, "03-probe-installed").await;

        // A request to the app: the snapshot appears without a reload.
        hit(port, "/order/7?tier=gold");
        find(&client, "table.snapshots tr[data-snapshot] a").await;
        assert_eq!(client.current_url().await.expect("url"), probe_url, "no navigation happened");
        shot(&client, &dir, "04-snapshot-arrived").await;
        click(&client, "table.snapshots tr[data-snapshot] a").await;
        find(&client, ".snapshot[data-snapshot-id]").await;
        // A nested local, expanded lazily; a redacted one marked.
        assert!(client.find(Locator::Css("li.var[data-name=customer] ul.tree")).await.is_err(), "children enter the DOM when opened");
        click(&client, "li.var[data-name=customer] > button.twisty").await;
        click(&client, "li.var[data-name=customer] li.var[data-name=\"['tags']\"] > button.twisty").await;
        let tier = find(&client, "li.var[data-name=customer] li.var[data-name=\"['tier']\"] .value").await.text().await.expect("text");
        assert_eq!(tier, "'gold'");
        find(&client, "li.var[data-name=password] .value.redacted").await;
        let mark = find(&client, "li.var[data-name=password] .redacted-mark").await.text().await.expect("text");
        assert_eq!(mark, "redacted");
        let page = find(&client, "main").await.text().await.expect("text");
        assert!(!page.contains("hunter2"), "the secret never reaches the page");
        shot(&client, &dir, "05-snapshot-view").await;

        // A line without code: the agent's answer shows on the probe.
        client.goto(&format!("{}/#/probes", server.url)).await.expect("probes page");
        fill(&client, "#probe-service", "shop").await;
        fill(&client, "#probe-file", "shop_flask.py").await;
        fill(&client, "#probe-line", "3").await;
        find(&client, "#create-probe").await.click().await.expect("create");
        let message = find(&client, ".status-message.s-error").await.text().await.expect("text");
        assert_eq!(message, "no code at line 3; nearest lines with code: 2, 4");
        shot(&client, &dir, "06-bad-line").await;

        // Delete the first probe from its page.
        client.goto(&format!("{}/#/probes/{probe_id}", server.url)).await.expect("probe page");
        click(&client, "button[data-action=delete]").await;
        client.accept_alert().await.expect("confirm the deletion");
        let gone = find(&client, "main p.missing").await.text().await.expect("text");
        assert!(gone.starts_with(&format!("Probe {probe_id} does not exist")), "{gone}");
        client.goto(&format!("{}/#/probes", server.url)).await.expect("probes page");
        find(&client, "table.probes").await;
        shot(&client, &dir, "07-after-delete").await;

        // The service and its instance.
        client.goto(&format!("{}/#/services", server.url)).await.expect("services page");
        let row = find(&client, "[data-service=shop] tbody tr").await.text().await.expect("text");
        assert!(row.contains(&app.pid.to_string()) && row.contains("live"), "{row}");
        shot(&client, &dir, "08-services").await;

        // Exception snapshots turned on from the page: a failing request shows up live with
        // its exception and the failing frame's locals.
        click(&client, "[data-service=shop] button[data-action=exceptions-on]").await;
        find(&client, "[data-service=shop] [data-exceptions=on]").await;
        client.goto(&format!("{}/#/snapshots", server.url)).await.expect("snapshots page");
        find(&client, "table.snapshots").await;
        // The agent learns the setting with its next long-poll answer: fail until one arrives.
        let deadline = Instant::now() + WAIT;
        while client.find(Locator::Css("table.snapshots tr[data-snapshot] .s-exception")).await.is_err() {
            assert!(Instant::now() < deadline, "no exception snapshot reached the page");
            let failed = borescope_test::http::get(&format!("http://127.0.0.1:{port}/fail/pear"), None);
            assert_eq!(failed.status, 500);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        click(&client, "table.snapshots tr[data-snapshot] a").await;
        let header = find(&client, ".snapshot .exception").await.text().await.expect("text");
        assert!(header.starts_with("KeyError: 'pear'") && header.contains("flask"), "{header}");
        let sku = find(&client, "li.var[data-name=sku] .value").await.text().await.expect("text");
        assert_eq!(sku, "'pear'");
        find(&client, "li.var[data-name=session_token] .value.redacted").await;
        shot(&client, &dir, "09-exception").await;
        client.close().await.expect("close the browser");
    });
    let probes = server.get("/api/v1/probes?all=true");
    let left: Vec<_> = probes["probes"].as_array().expect("probes").iter().map(|p| p["line"].as_u64()).collect();
    assert_eq!(left, vec![Some(3)], "only the bad-line probe is left");
    drop(driver);
    drop(app);
}
