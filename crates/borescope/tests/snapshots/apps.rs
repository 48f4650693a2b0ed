//! Other ways in and other servers: gunicorn's pre-fork workers, and the agent installed with
//! pip and started by the app itself.

use crate::{armed_in, ctx, hit, instances, line_of, run_app, Py, Server};
use borescope_test::targets::TargetProcess;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn gunicorn_workers(py: Py) {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("shop");
    let app = run_app(&ctx, &server, &key, "shop", py, &["-m", "gunicorn", "-w", "3", "-b", "127.0.0.1:0", "shop_flask:app"]);
    let port = crate::app_port(&app);
    crate::wait_http(&app, port);
    // The arbiter and its three workers, each its own instance.
    let all = crate::instances_of(&server, "shop", 4, Some(&app));
    let workers: Vec<u32> = all
        .iter()
        .filter_map(|i| i["pid"].as_u64())
        .filter(|pid| *pid != u64::from(app.pid))
        .map(|pid| u32::try_from(pid).expect("pid"))
        .collect();
    assert_eq!(workers.len(), 3, "{all:#?}");
    let location = format!("shop_flask.py:{}", line_of(&ctx, "shop_flask.py", "PROBE: view"));
    let view = server.snap(&ctx, &["add", &location, "--service", "shop", "--rate", "100", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    server.wait_probe(id, WAIT, |v| armed_in(v, &workers));
    // The arbiter never imports the app: pending, and it says its workers are the instances.
    let arbiter = u64::from(app.pid);
    let view = server.wait_probe(id, WAIT, |v| crate::statuses(v).iter().any(|(p, _)| *p == arbiter));
    let status = view["statuses"].as_array().and_then(|all| all.iter().find(|s| s["pid"] == arbiter)).cloned().unwrap_or_default();
    assert_eq!(status["status"], "pending", "{status:#}");
    assert!(status["message"].as_str().unwrap_or_default().contains("forked 3 child processes"), "{status:#}");
    for order in 1..=6 {
        hit(port, &format!("/order/{order}"));
    }
    let shots = server.snapshots(id, 6, WAIT);
    assert_eq!(shots.len(), 6);
    assert!(shots.iter().all(|s| workers.iter().any(|w| s["pid"].as_u64() == Some(u64::from(*w)))), "snapshots come from workers");
}

#[test]
fn gunicorn_pre_fork_workers_on_python_3_11() {
    gunicorn_workers(Py::Host);
}

#[test]
fn gunicorn_pre_fork_workers_on_python_3_14() {
    gunicorn_workers(Py::Sid);
}

#[test]
fn pip_installed_agent_started_by_the_app() {
    let ctx = ctx();
    let server = Server::start(&ctx);
    let key = server.key("embedded");
    let venv = ctx.root.join("venv");
    let made = crate::host_python().arg("-m").arg("venv").arg(&venv).status().expect("venv");
    assert!(made.success());
    let package = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python");
    let pip = std::process::Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--find-links"])
        .arg(borescope_test::interpreters::shared_cache().join("wheels"))
        .arg(&package)
        .output()
        .expect("pip");
    assert!(pip.status.success(), "{}", String::from_utf8_lossy(&pip.stderr));
    let site = std::process::Command::new(venv.join("bin/python"))
        .args(["-c", "import borescope_agent, importlib.util as u; print(borescope_agent.__file__); print(u.find_spec('sitecustomize'))"])
        .output()
        .expect("python");
    let said = String::from_utf8_lossy(&site.stdout).to_string();
    assert!(said.contains("site-packages/borescope_agent/__init__.py"), "{said}");
    assert!(said.trim_end().ends_with("None"), "pip installs the package only, no sitecustomize: {said}");

    let env = [("SHOP_SNAP_SERVER", server.url.as_str()), ("SHOP_SNAP_KEY", key.as_str())];
    let app = TargetProcess::program_env(&ctx.work(), venv.join("bin/python"), &["embedded.py"], &env);
    app.wait_for("ready", WAIT);
    instances(&server, "embedded", 1);
    let location = format!("pricing.py:{}", line_of(&ctx, "pricing.py", "PROBE: nested"));
    let view = server.snap(&ctx, &["add", &location, "--service", "embedded", "--wait", "10"]);
    let id = view["id"].as_i64().expect("id");
    let shot = &server.snapshots(id, 1, WAIT)[0];
    assert_eq!(shot["function"], "tax");
    assert!(app.is_running());
}
