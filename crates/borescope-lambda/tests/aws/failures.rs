//! What goes wrong: conflicts retried, an attach interrupted half way, an attach failing half
//! way (undone), limits refused before anything changes.

use super::proxy::{Fault, Proxy};
use super::world::{STACK, World, options};
use super::{SECRET, WRAPPER, plan};
use borescope_lambda::aws::{
    self, AttachPlan, Aws, AwsError, LayerZip, Progress, RelaySettings, StackFunction,
};
use std::sync::Arc;

const UPDATE_CONFIG: &str = "/configuration";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_conflict_is_retried() {
    let world = World::new().await;
    let before = world.configs().await;
    let proxy = Proxy::start(
        &world.moto.url,
        vec![Fault {
            method: "PUT",
            path_part: UPDATE_CONFIG,
            nth: 1,
            status: 409,
            error_type: "ResourceConflictException",
            message: "The operation cannot be performed at this time. An update is in progress for resource",
        }],
    )
    .await;
    let through = Aws::connect(&options(&proxy.url))
        .await
        .expect("connect through the proxy");
    let plan = plan(&through, "alice@laptop", false).await;
    let mut events = Vec::new();
    let report = aws::attach(&through, &plan, world.state_dir.path(), &mut |p| {
        events.push(p)
    })
    .await
    .expect("attach");
    assert_eq!(report.functions.len(), 3);
    let retries: Vec<&Progress> = events
        .iter()
        .filter(|e| matches!(e, Progress::Retrying { .. }))
        .collect();
    assert_eq!(retries.len(), 1, "{events:?}");
    match retries[0] {
        Progress::Retrying {
            action,
            code,
            attempt,
            ..
        } => {
            assert_eq!(action, "lambda:UpdateFunctionConfiguration");
            assert_eq!(code, "ResourceConflictException");
            assert_eq!(*attempt, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        proxy.seen.lock().expect("seen")[0] >= 4,
        "the conflicting update was sent again"
    );
    aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |_| {})
        .await
        .expect("detach");
    assert_eq!(world.configs().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attach_interrupted_half_way_is_restored_by_detach() {
    let world = World::new().await;
    let before = world.configs().await;
    let plan = plan(&world.aws, "alice@laptop", false).await;
    let first_done = Arc::new(tokio::sync::Notify::new());
    let signal = first_done.clone();
    let mut progress = move |p: Progress| {
        if matches!(p, Progress::Instrumented { .. }) {
            signal.notify_one();
        }
    };
    let state_dir = world.state_dir.path().to_path_buf();
    let attaching = aws::attach(&world.aws, &plan, &state_dir, &mut progress);
    tokio::select! {
        biased;
        _ = first_done.notified() => {}
        result = attaching => panic!("the attach finished before it was interrupted: {result:?}"),
    }
    // The attach future is dropped here, like a killed CLI: one function changed, the others not.
    let changed = world
        .configs()
        .await
        .iter()
        .filter(|(_, c)| c.to_string().contains("BORESCOPE_LAMBDA"))
        .count();
    assert!((1..3).contains(&changed), "{changed} functions changed");
    let files: Vec<_> = std::fs::read_dir(&state_dir)
        .expect("state dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    let state = aws::state::load(&files[0]).expect("load").expect("state");
    assert_eq!(state.phase, aws::state::Phase::Attaching);

    let detached = aws::detach(&world.aws, STACK, &state_dir, &mut |_| {})
        .await
        .expect("detach");
    assert_eq!(detached.restored(), changed);
    assert_eq!(world.configs().await, before);
    for role in world.roles().await {
        assert!(
            world.relay_policy(&role).await.is_none(),
            "policy left on {role}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attach_failing_half_way_undoes_itself_and_names_the_permission() {
    let world = World::new().await;
    let before = world.configs().await;
    let proxy = Proxy::start(
        &world.moto.url,
        vec![Fault {
            method: "PUT",
            path_part: UPDATE_CONFIG,
            nth: 2,
            status: 403,
            error_type: "AccessDeniedException",
            message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: lambda:UpdateFunctionConfiguration",
        }],
    )
    .await;
    let through = Aws::connect(&options(&proxy.url))
        .await
        .expect("connect through the proxy");
    let plan = plan(&through, "alice@laptop", false).await;
    let second = plan.functions[1].arn.clone();
    let mut events = Vec::new();
    let err = aws::attach(&through, &plan, world.state_dir.path(), &mut |p| {
        events.push(p)
    })
    .await
    .expect_err("the second update is refused");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "missing permission lambda:UpdateFunctionConfiguration on {second}: User: "
        )),
        "{text}"
    );
    assert!(text.ends_with("(every change was undone)"), "{text}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::Restored { .. })),
        "{events:?}"
    );
    assert_eq!(world.configs().await, before);
    for role in world.roles().await {
        assert!(
            world.relay_policy(&role).await.is_none(),
            "policy left on {role}"
        );
    }
    assert!(
        std::fs::read_dir(world.state_dir.path())
            .expect("dir")
            .next()
            .is_none(),
        "state file left"
    );
}

/// A function outside the stack (created with the API) with the stack's role.
async fn loose_function(
    world: &World,
    name: &str,
    env: &[(&str, String)],
    layers: Vec<String>,
) -> StackFunction {
    let role = aws::stack_functions(&world.aws, STACK, &[])
        .await
        .expect("stack")
        .functions[0]
        .role
        .clone();
    let lambda = aws_sdk_lambda::Client::new(world.aws.sdk_config());
    let mut variables = std::collections::HashMap::new();
    for (k, v) in env {
        variables.insert(k.to_string(), v.clone());
    }
    let out = lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(&role)
        .handler("app.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .s3_bucket(super::world::BUCKET)
                .s3_key("app.zip")
                .build(),
        )
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(variables))
                .build(),
        )
        .set_layers(Some(layers))
        .send()
        .await
        .expect("create a function");
    StackFunction {
        logical_id: name.to_string(),
        name: name.to_string(),
        arn: out.function_arn().unwrap_or_default().to_string(),
        runtime: "python3.12".into(),
        role,
    }
}

fn loose_plan(function: StackFunction) -> AttachPlan {
    AttachPlan {
        stack: STACK.into(),
        functions: vec![function],
        timeout_secs: 300,
        relay: RelaySettings {
            url: "ws://127.0.0.1:1/mqtt".into(),
            prefix: "c".repeat(32),
            secret_b64: SECRET.into(),
        },
        holder: "alice@laptop".into(),
        force: false,
        layer: LayerZip::build(WRAPPER).expect("layer"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_limits_are_refused_before_anything_changes() {
    let world = World::new().await;
    let big = loose_function(&world, "big-env", &[("BLOB", "x".repeat(3800))], Vec::new()).await;
    let before = world.config("big-env");
    let err = aws::attach(
        &world.aws,
        &loose_plan(big),
        world.state_dir.path(),
        &mut |_| {},
    )
    .await
    .expect_err("4 KB");
    let text = err.to_string();
    assert!(
        text.starts_with("function big-env: its environment would be "),
        "{text}"
    );
    assert!(text.contains("Lambda allows 4096"), "{text}");
    assert_eq!(world.config("big-env"), before);

    let mut layers = Vec::new();
    for i in 0..5 {
        layers.push(world.publish_layer(&format!("extra-{i}")).await);
    }
    let crowded = loose_function(&world, "five-layers", &[], layers).await;
    let err = aws::attach(
        &world.aws,
        &loose_plan(crowded),
        world.state_dir.path(),
        &mut |_| {},
    )
    .await
    .expect_err("5 layers");
    assert_eq!(
        err.to_string(),
        "function five-layers already has 5 layers; Lambda allows 5 and borescope needs one: remove a layer or debug another function"
    );
    assert!(
        std::fs::read_dir(world.state_dir.path())
            .expect("dir")
            .next()
            .is_none(),
        "nothing recorded"
    );
    let lambda = aws_sdk_lambda::Client::new(world.aws.sdk_config());
    let layers = lambda
        .list_layer_versions()
        .layer_name("borescope-lambda")
        .send()
        .await
        .expect("list");
    assert!(
        layers.layer_versions().is_empty(),
        "no layer published for a refused attach"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_bad_plan_is_refused() {
    let world = World::new().await;
    let mut bad = plan(&world.aws, "alice@laptop", false).await;
    bad.relay.prefix = "XYZ".into();
    let err = aws::attach(&world.aws, &bad, world.state_dir.path(), &mut |_| {})
        .await
        .expect_err("bad prefix");
    assert!(matches!(err, AwsError::BadPlan(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_shared_with_another_attached_stack_keeps_its_statement() {
    let world = World::new().await;
    let loose = loose_function(&world, "billing", &[], Vec::new()).await;
    let role = loose.role.rsplit('/').next().unwrap_or_default().to_string();
    let original = world.config("billing");
    let mut other = loose_plan(loose);
    other.stack = "billing-stack".into();
    aws::attach(&world.aws, &other, world.state_dir.path(), &mut |_| {}).await.expect("attach billing");
    super::attach_as(&world, "alice@laptop", false).await.expect("attach orders");
    let policy = world.relay_policy(&role).await.expect("policy");
    assert_eq!(policy["Statement"].as_array().map(Vec::len), Some(2), "{policy}");

    aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |_| {}).await.expect("detach orders");
    let policy = world.relay_policy(&role).await.expect("billing's statement stays");
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    assert_eq!(statements.len(), 1, "{policy}");
    assert_eq!(statements[0]["Sid"], format!("Borescope{}", "c".repeat(32)));

    // billing-stack is not in CloudFormation: its detach works from its state file alone.
    let detached = aws::detach(&world.aws, "billing-stack", world.state_dir.path(), &mut |_| {}).await.expect("detach billing");
    assert_eq!(detached.restored(), 1);
    assert!(world.relay_policy(&role).await.is_none(), "the last statement takes the policy with it");
    assert!(world.env("billing").get("BORESCOPE_LAMBDA").is_none());
    assert_eq!(world.config("billing"), original);
}
