//! `attach svc/NAME | pod/NAME --listen-only [LOCAL_PORT]`: debugpy started in the pod's
//! process for an editor, reached through a port-forward this command holds on
//! 127.0.0.1:LOCAL_PORT until it is interrupted (Ctrl-C, SIGTERM); then debugpy is stopped and
//! borescope's files removed, as `stop` does for a session.

use crate::failure::Failure;
use crate::printer;
use borescope_cli::{AttachArgs, Cli};
use borescope_kube::{forward, inject, TargetSpec};
use borescope_model::{ListenReport, Notice, LISTEN_SCHEMA};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

pub async fn listen_only(cli: &Cli, args: &AttachArgs, spec: &TargetSpec, local_port: u16, timeout: Duration) -> Result<ExitCode, Failure> {
    let (cluster, _, candidate) = super::pod_target::find(&args.kube, spec, args.container.as_deref()).await?;
    let local = tokio::net::TcpListener::bind(("127.0.0.1", local_port))
        .await
        .map_err(|e| Failure::input(format!("cannot listen on 127.0.0.1:{local_port}: {e}; choose another LOCAL_PORT")))?;
    let port = local.local_addr().map(|a| a.port()).unwrap_or(local_port);
    let cache = borescope_static::cache_dir();
    let debugpy: Option<inject::DebugpySource> = (!args.no_ship_debugpy).then(|| {
        let source: inject::DebugpySource =
            Box::pin(async move { borescope_debugger::debugpy::provision(&cache).await.map_err(|e| e.to_string()) });
        source
    });
    // Editors cannot send debugpy's access token: the port is reachable only through this
    // command's forward, on this machine's loopback.
    let listener = inject::start_debugpy(&cluster, &candidate.pod, candidate.process.pid, Some(&candidate.executable), None, timeout, debugpy).await?;
    let text = |key: &str| listener.status[key].as_str().unwrap_or_default().to_string();
    let cwd = text("cwd");
    let mut launch = json!({
        "name": format!("borescope: {}", candidate.target()),
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": port},
        "justMyCode": true,
    });
    if !cwd.is_empty() {
        launch["pathMappings"] = json!([{"localRoot": "${workspaceFolder}", "remoteRoot": cwd}]);
    }
    let report = ListenReport {
        schema: LISTEN_SCHEMA.into(),
        pid: candidate.process.pid,
        python: text("python"),
        debugpy: text("debugpy"),
        host: "127.0.0.1".into(),
        port,
        launch_json: launch,
        notices: vec![Notice::with_hint(
            format!(
                "debugpy in pid {} of pod {} is forwarded to 127.0.0.1:{port} without an access token (editors cannot send one): any local user who can reach that port can run code in the pod while this command runs",
                candidate.process.pid, candidate.pod
            ),
            "Ctrl-C (or SIGTERM) ends the forward, stops debugpy in the pod and removes borescope's files",
        )],
    };
    if cli.json {
        printer::json(&report);
    } else {
        printer::text(&borescope_render::render_listen(&report));
    }
    let serving = async {
        loop {
            let Ok((mut client, _)) = local.accept().await else { continue };
            let _ = client.set_nodelay(true);
            let (cluster, pod, remote_port) = (cluster.clone(), candidate.pod.clone(), listener.port);
            tokio::spawn(async move {
                match forward::open(&cluster, &pod, remote_port).await {
                    Ok(mut opened) => {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut opened.stream).await;
                        drop(opened.connection);
                    }
                    Err(error) => tracing::warn!(%error, "forwarding a connection"),
                }
            });
        }
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::failed(format!("cannot watch for SIGTERM: {e}")))?;
    tokio::select! {
        _ = serving => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    drop(local);
    match inject::stop_debugpy(&cluster, &listener, Duration::from_secs(5)).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(Failure::failed(format!("the port-forward ended, but debugpy could not be stopped in the pod: {error}"))),
    }
}
