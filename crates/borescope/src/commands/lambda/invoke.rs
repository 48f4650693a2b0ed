//! `borescope lambda invoke`: one function run locally with an event. The handler, code
//! directory and environment come from a SAM or CloudFormation template (no AWS needed), from
//! the deployed function (`--stack`), or from --handler and --code; the worker that runs
//! deployed invocations under `lambda attach` runs this one too, as a plain child process, or
//! with --break as a session's program.

use super::local::{self, WorkerSession};
use crate::failure::Failure;
use crate::printer;
use borescope_cli::{Cli, LambdaInvokeArgs};
use borescope_lambda::relay::messages::now_ms;
use borescope_lambda::template::{Template, TemplateFunction};
use borescope_lambda::worker::WorkerListener;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

/// How long the worker may take to start and connect.
const WORKER_CONNECT: Duration = Duration::from_secs(30);

pub fn run(cli: &Cli, args: &LambdaInvokeArgs) -> Result<ExitCode, Failure> {
    let breakpoints = args.breakpoints.iter().map(|b| local::breakpoint(b)).collect::<Result<Vec<_>, _>>()?;
    let runtime = super::super::runtime()?;
    let _in_runtime = runtime.enter();
    let function = match &args.stack {
        Some(stack) => runtime.block_on(deployed(args, stack))?,
        None => function(args)?,
    };
    let event = read_event(&args.event)?;
    let code = local::code_dir(args.code.as_deref().or(function.code_dir.as_deref()).unwrap_or(Path::new(".")))?;
    let mut env = function.env.clone();
    for pair in &args.env {
        let (name, value) = pair.split_once('=').ok_or_else(|| Failure::input(format!("bad --env {pair}: write NAME=VALUE")))?;
        env.insert(name.to_string(), value.to_string());
    }
    for name in function.unresolved.iter().filter(|name| !env.contains_key(*name)) {
        printer::error_text(&format!("note: {name} is left out of the environment: only AWS can compute its value (pass --env {name}=VALUE)\n"));
    }
    let message = invoke_message(&function, event, env);
    let timeout = crate::settings::seconds(args.timeout, "--timeout")?;
    let dir = local::private_dir()?;
    let python = local::python(args.python.as_deref());
    if breakpoints.is_empty() {
        runtime.block_on(run_plain(cli, &python, &code, dir.path(), &message, timeout))
    } else {
        let listener = WorkerListener::bind(dir.path())?;
        let start = local::start_request(cli, WorkerSession {
            session: &args.session,
            python: &python,
            socket: listener.path(),
            code: &code,
            breakpoints,
            timeout_ms: timeout.as_millis() as u64,
        })?;
        runtime.block_on(run_in_session(cli, listener, start, &message))
    }
}

fn function(args: &LambdaInvokeArgs) -> Result<TemplateFunction, Failure> {
    let template = args.template.clone().or_else(|| ["template.yaml", "template.yml"].into_iter().map(PathBuf::from).find(|p| p.is_file()));
    match (template, &args.handler) {
        (Some(path), handler) => {
            let mut function = Template::load(&path)?.function(&args.function)?;
            if let Some(handler) = handler {
                function.handler = handler.clone();
            }
            Ok(function)
        }
        (None, Some(handler)) => Ok(TemplateFunction {
            logical_id: args.function.clone(),
            function_name: None,
            handler: handler.clone(),
            runtime: None,
            code_dir: None,
            timeout_secs: 3,
            memory_mb: 128,
            env: BTreeMap::new(),
            unresolved: Vec::new(),
        }),
        (None, None) => Err(Failure::input(
            "no template here to find the function in; pass --template FILE, or --handler MODULE.FUNC with --code DIR",
        )),
    }
}

/// The function as deployed in `stack`: handler, timeout, memory and environment from AWS.
async fn deployed(args: &LambdaInvokeArgs, stack: &str) -> Result<TemplateFunction, Failure> {
    use borescope_lambda::aws::{self, Aws, AwsOptions};
    let aws = Aws::connect(&AwsOptions { region: args.aws.region.clone(), profile: args.aws.profile.clone(), ..AwsOptions::default() }).await?;
    let found = aws::stack_functions(&aws, stack, std::slice::from_ref(&args.function)).await?;
    let Some(function) = found.functions.first() else {
        let why = found.refused.first().map(|r| r.reason.clone()).unwrap_or_else(|| "not a Python function".into());
        return Err(Failure::input(format!("cannot run {} locally: {why}", args.function)));
    };
    let deployed = aws::deployed_function(&aws, &function.name).await?;
    Ok(TemplateFunction {
        logical_id: function.logical_id.clone(),
        function_name: Some(deployed.name),
        handler: args.handler.clone().unwrap_or(deployed.handler),
        runtime: deployed.runtime,
        code_dir: None,
        timeout_secs: deployed.timeout.max(1) as u64,
        memory_mb: deployed.memory_mb.max(128) as u64,
        env: deployed.env,
        unresolved: Vec::new(),
    })
}

fn read_event(path: &Path) -> Result<String, Failure> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map_err(|e| Failure::failed(format!("cannot read the event from standard input: {e}")))?;
    } else {
        text = std::fs::read_to_string(path).map_err(|e| Failure::input(format!("cannot read the event {}: {e}", path.display())))?;
    }
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| Failure::input(format!("the event {} is not JSON ({e}); Lambda events are JSON documents", path.display())))?;
    Ok(text)
}

fn request_id() -> String {
    let b = borescope_lambda::relay::seal::random_bytes::<16>();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The `invoke` message a shim would send, with a context like Lambda's.
fn invoke_message(function: &TemplateFunction, event: String, mut env: BTreeMap<String, String>) -> serde_json::Value {
    let name = function.function_name.clone().unwrap_or_else(|| function.logical_id.clone());
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let id = request_id();
    for (key, value) in [
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", function.memory_mb.to_string()),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region.clone()),
        ("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", function.runtime.as_deref().unwrap_or("python3"))),
    ] {
        env.entry(key.to_string()).or_insert(value);
    }
    serde_json::json!({
        "t": "invoke", "id": id, "ts": now_ms(), "w": "local", "fn": name, "handler": function.handler,
        "event": event,
        "context": {
            "request_id": id,
            "deadline_ms": now_ms() + function.timeout_secs as i64 * 1000,
            "function_arn": format!("arn:aws:lambda:{region}:123456789012:function:{name}"),
            "trace_id": null, "client_context": null, "cognito_identity": null,
            "function_name": name, "function_version": "$LATEST",
            "memory_limit_mb": function.memory_mb.to_string(),
            "log_group_name": format!("/aws/lambda/{name}"),
            "log_stream_name": "local",
        },
        "env": env,
    })
}

async fn run_plain(cli: &Cli, python: &Path, code: &Path, dir: &Path, message: &serde_json::Value, timeout: Duration) -> Result<ExitCode, Failure> {
    let agent = borescope_pyagent::materialize(&borescope_static::cache_dir()).map_err(|e| Failure::failed(e.to_string()))?;
    let listener = WorkerListener::bind(dir)?;
    // The handler's own output goes to stderr, so stdout carries only the result.
    let stderr = std::io::stderr();
    let out = std::os::fd::AsFd::as_fd(&stderr).try_clone_to_owned().map(Stdio::from).unwrap_or_else(|_| Stdio::inherit());
    let mut child = local::plain_worker(python, &agent, code, listener.path(), &[])
        .stdout(out)
        .spawn()
        .map_err(|e| Failure::input(format!("cannot run {}: {e}; pass --python PATH", python.display())))?;
    let started = Instant::now();
    let (link, _hello) = tokio::select! {
        linked = listener.accept(WORKER_CONNECT) => linked?,
        status = child.wait() => return Err(Failure::failed(format!(
            "the local Python worker exited before it connected ({}); its error is above",
            status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
        ))),
    };
    link.send(message).await?;
    let answer = tokio::time::timeout(timeout, link.next_answer()).await;
    let _ = link.send(&serde_json::json!({"t": "bye"})).await;
    if tokio::time::timeout(Duration::from_secs(2), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
    let answer = match answer {
        Ok(Some(answer)) => answer,
        Ok(None) => return Err(Failure::failed("the local Python worker ended without an answer; its error is above")),
        Err(_) => return Err(Failure::failed(format!("no result within {} s; pass --timeout SECS for a longer run", timeout.as_secs()))),
    };
    Ok(print_answer(cli, message, &answer, started.elapsed()))
}

async fn run_in_session(cli: &Cli, listener: WorkerListener, start: borescope_ipc::Request, message: &serde_json::Value) -> Result<ExitCode, Failure> {
    let mut started = tokio::task::spawn_blocking(move || super::super::session::call(&start));
    let link = tokio::select! {
        linked = listener.accept(WORKER_CONNECT) => linked?.0,
        answer = &mut started => {
            let answer = answer.map_err(|e| Failure::failed(e.to_string()))??;
            super::super::session::print_answer(cli, &answer);
            return Ok(ExitCode::from(1));
        }
    };
    link.send(message).await?;
    let begun = Instant::now();
    tokio::select! {
        answer = &mut started => {
            // Stopped at a breakpoint (or the program ended): the stop is the report. The worker
            // finishes the invocation when the session continues and prints its answer.
            let answer = answer.map_err(|e| Failure::failed(e.to_string()))??;
            super::super::session::print_answer(cli, &answer);
            Ok(ExitCode::SUCCESS)
        }
        answer = link.next_answer() => {
            let _ = link.send(&serde_json::json!({"t": "bye"})).await;
            let _ = started.await;
            match answer {
                Some(answer) => {
                    tracing::info!("no breakpoint was hit");
                    Ok(print_answer(cli, message, &answer, begun.elapsed()))
                }
                None => Err(Failure::failed("the local Python worker ended without an answer; see `borescope output --session NAME`")),
            }
        }
    }
}

fn print_answer(cli: &Cli, message: &serde_json::Value, answer: &serde_json::Value, took: Duration) -> ExitCode {
    let ok = answer.get("t").and_then(|t| t.as_str()) == Some("result");
    let body = answer.get("body").and_then(|b| b.as_str()).unwrap_or("null");
    if cli.json {
        let mut report = serde_json::json!({
            "schema": "borescope.lambda-invoke/1",
            "function": message["fn"], "handler": message["handler"], "request_id": message["id"],
            "duration_ms": took.as_millis() as u64, "outcome": if ok { "ok" } else { "error" },
        });
        if ok {
            report["result"] = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
        } else {
            report["error"] = serde_json::json!({"type": answer["type"], "message": answer["message"], "stack": answer["stack"]});
        }
        printer::json(&report);
    } else if ok {
        printer::text(&format!("{body}\n"));
    } else {
        let mut text = format!(
            "{}: {}\n",
            answer.get("type").and_then(|t| t.as_str()).unwrap_or("Error"),
            answer.get("message").and_then(|t| t.as_str()).unwrap_or_default()
        );
        for frame in answer.get("stack").and_then(|s| s.as_array()).into_iter().flatten() {
            text.push_str(&format!(
                "  {}:{} in {}\n",
                frame[0].as_str().unwrap_or("?"),
                frame[1].as_u64().unwrap_or(0),
                frame[2].as_str().unwrap_or("?")
            ));
        }
        printer::error_text(&text);
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
