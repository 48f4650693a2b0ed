//! The Lambda control plane against a real moto server: attach, check every change, detach,
//! check every function is byte-for-byte back; detach from the functions' records alone;
//! holders; retries; interrupted and failed attaches.

mod failures;
mod proxy;
mod world;

use borescope_lambda::aws::{
    self, AttachPlan, AttachReport, Aws, AwsError, LayerZip, Progress, RelaySettings, RestoreSource,
};
use serde_json::Value;
use std::path::Path;
use world::{OTHER_WRAPPER, STACK, World};

pub(crate) const WRAPPER: &str = "#!/bin/sh\n# test wrapper\nexec \"$@\"\n";
pub(crate) const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";

pub(crate) fn prefix(holder: &str) -> String {
    let c = if holder.starts_with('b') { "b" } else { "a" };
    c.repeat(32)
}

pub(crate) async fn plan(aws: &Aws, holder: &str, force: bool) -> AttachPlan {
    let found = aws::stack_functions(aws, STACK, &[])
        .await
        .expect("stack functions");
    AttachPlan {
        stack: STACK.to_string(),
        functions: found.functions,
        timeout_secs: 300,
        relay: RelaySettings {
            url: "ws://127.0.0.1:1883/mqtt".into(),
            prefix: prefix(holder),
            secret_b64: SECRET.into(),
        },
        holder: holder.to_string(),
        force,
        layer: LayerZip::build(WRAPPER).expect("layer"),
    }
}

pub(crate) async fn attach_as(
    world: &World,
    holder: &str,
    force: bool,
) -> Result<AttachReport, AwsError> {
    let plan = plan(&world.aws, holder, force).await;
    aws::attach(&world.aws, &plan, world.state_dir.path(), &mut |_| {}).await
}

fn record(env: &Value) -> Value {
    let text = env
        .get("BORESCOPE_LAMBDA")
        .and_then(Value::as_str)
        .expect("a record");
    serde_json::from_str(text).expect("record JSON")
}

fn state_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_functions_follow_nested_stacks_and_refuse_node() {
    let world = World::new().await;
    let found = aws::stack_functions(&world.aws, STACK, &[])
        .await
        .expect("stack functions");
    let logical: Vec<&str> = found
        .functions
        .iter()
        .map(|f| f.logical_id.as_str())
        .collect();
    assert_eq!(logical, ["Plain", "Wrapped", "Inner/InnerFn"]);
    assert_eq!(found.refused.len(), 1);
    assert_eq!(found.refused[0].logical_id, "Node");
    assert!(
        found.refused[0].reason.starts_with("runtime nodejs20.x"),
        "{}",
        found.refused[0].reason
    );

    let only = aws::stack_functions(
        &world.aws,
        STACK,
        &["InnerFn".into(), found.functions[0].name.clone()],
    )
    .await
    .expect("filtered");
    assert_eq!(only.functions.len(), 2);

    let err = aws::stack_functions(&world.aws, STACK, &["Nope".into()])
        .await
        .expect_err("unknown");
    let text = err.to_string();
    assert!(
        text.starts_with("stack `orders` has no function `Nope`; its functions: "),
        "{text}"
    );
    assert!(
        text.contains("(Inner/InnerFn)") && text.contains("(Node)"),
        "{text}"
    );

    let err = aws::stack_functions(&world.aws, "missing", &[])
        .await
        .expect_err("no stack");
    assert_eq!(
        err.to_string(),
        "stack `missing` not found in eu-west-1: check the name, --region and --profile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_changes_exactly_what_it_says_and_detach_restores_byte_for_byte() {
    let world = World::new().await;
    let before = world.configs().await;
    let roles = world.roles().await;
    assert_eq!(roles.len(), 2, "{roles:?}");

    let plan = plan(&world.aws, "alice@laptop", false).await;
    let mut events = Vec::new();
    let report = aws::attach(&world.aws, &plan, world.state_dir.path(), &mut |p| {
        events.push(p)
    })
    .await
    .expect("attach");
    assert_eq!(report.functions.len(), 3);
    assert!(!report.layer_reused);
    assert_eq!(
        report.roles.len(),
        2,
        "one policy per role, shared or not: {:?}",
        report.roles
    );
    assert!(
        report.layer_arn.contains(":layer:borescope-lambda:"),
        "{}",
        report.layer_arn
    );
    let instrumented: Vec<&Progress> = events
        .iter()
        .filter(|e| matches!(e, Progress::Instrumented { .. }))
        .collect();
    assert_eq!(instrumented.len(), 3);

    for f in &report.functions {
        let config = world.config(&f.name);
        let env = world.env(&f.name);
        let rec = record(&env);
        assert_eq!(rec["v"], 1);
        assert_eq!(rec["holder"], "alice@laptop");
        assert_eq!(rec["prefix"], prefix("alice"));
        assert_eq!(rec["secret"], SECRET);
        assert_eq!(rec["region"], "eu-west-1");
        assert_eq!(rec["relay"], "ws://127.0.0.1:1883/mqtt");
        assert_eq!(rec["stack"], STACK);
        assert_eq!(env["AWS_LAMBDA_EXEC_WRAPPER"], "/opt/borescope/wrapper");
        let layers: Vec<&str> = config["Layers"]
            .as_array()
            .expect("layers")
            .iter()
            .filter_map(|l| l["Arn"].as_str())
            .collect();
        assert_eq!(layers.last().copied(), Some(report.layer_arn.as_str()));
        match f.logical_id.as_str() {
            "Plain" => {
                assert_eq!(config["Timeout"], 300);
                assert_eq!(
                    rec["orig"],
                    serde_json::json!({"timeout": 3, "wrapper": null, "layers": []})
                );
                assert!(env.get("BORESCOPE_LAMBDA_CHAIN").is_none());
                assert_eq!(env.as_object().map(|m| m.len()), Some(2), "{env}");
            }
            "Wrapped" => {
                assert_eq!(config["Timeout"], 300);
                assert_eq!(rec["orig"]["timeout"], 7);
                assert_eq!(rec["orig"]["wrapper"], OTHER_WRAPPER);
                assert_eq!(
                    rec["orig"]["layers"],
                    serde_json::json!([world.company_layer])
                );
                assert_eq!(
                    layers,
                    [world.company_layer.as_str(), report.layer_arn.as_str()]
                );
                assert_eq!(env["BORESCOPE_LAMBDA_CHAIN"], OTHER_WRAPPER);
                assert_eq!(env["TABLE"], "orders");
            }
            "Inner/InnerFn" => {
                assert_eq!(config["Timeout"], 600, "max(original, --timeout)");
                assert_eq!(rec["orig"]["timeout"], 600);
                assert_eq!(env["MODE"], "nested");
            }
            other => panic!("unexpected function {other}"),
        }
    }
    let node = world.function("Node").await;
    assert!(
        world.env(&node).get("BORESCOPE_LAMBDA").is_none(),
        "the refused function is untouched"
    );

    for role in &roles {
        let policy = world.relay_policy(role).await.expect("relay policy");
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 1);
        let resources = statements[0]["Resource"].to_string();
        let p = prefix("alice");
        assert!(
            resources.contains(&format!(
                "arn:aws:iot:eu-west-1:123456789012:client/borescope-{p}-*"
            )),
            "{resources}"
        );
        assert!(
            resources.contains(&format!("topic/borescope/{p}/up")),
            "{resources}"
        );
        assert!(
            resources.contains(&format!("topicfilter/borescope/{p}/down/*")),
            "{resources}"
        );
        assert_eq!(statements[0]["Action"].as_array().map(Vec::len), Some(4));
    }

    let state = aws::state::load(&report.state_file)
        .expect("state")
        .expect("a state file");
    assert_eq!(state.phase, aws::state::Phase::Attached);
    assert_eq!(state.functions.len(), 3);
    let wrapped = state
        .functions
        .iter()
        .find(|f| f.logical_id == "Wrapped")
        .expect("wrapped");
    assert_eq!(wrapped.original.wrapper.as_deref(), Some(OTHER_WRAPPER));
    assert_eq!(
        wrapped
            .original
            .environment
            .as_ref()
            .and_then(|e| e.get("TABLE"))
            .map(String::as_str),
        Some("orders")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&report.state_file)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let status = aws::status(&world.aws, Some(STACK), world.state_dir.path())
        .await
        .expect("status");
    assert_eq!(status.functions.len(), 3);
    assert!(
        status
            .functions
            .iter()
            .all(|f| f.instrumented && f.holder.as_deref() == Some("alice@laptop"))
    );
    assert_eq!(status.local.len(), 1);
    let json = serde_json::to_string(&status).expect("json");
    assert!(!json.contains(SECRET), "no secret in a report: {json}");
    let everywhere = aws::status(&world.aws, None, world.state_dir.path())
        .await
        .expect("status");
    assert_eq!(everywhere.functions.len(), 3);
    assert!(
        everywhere
            .functions
            .iter()
            .all(|f| f.stack.as_deref() == Some(STACK))
    );

    // A second attach reuses the layer.
    let again = attach_as(&world, "alice@laptop", false)
        .await
        .expect("attach again");
    assert!(again.layer_reused);
    assert_eq!(again.layer_arn, report.layer_arn);

    let mut events = Vec::new();
    let detached = aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |p| {
        events.push(p)
    })
    .await
    .expect("detach");
    assert_eq!(detached.restored(), 3);
    assert!(
        detached
            .functions
            .iter()
            .all(|f| f.restored_from != Some(RestoreSource::StateFile))
    );
    assert_eq!(
        detached.state_file_removed.as_deref(),
        Some(report.state_file.as_path())
    );
    assert_eq!(
        world.configs().await,
        before,
        "every function byte-for-byte as before"
    );
    for role in &roles {
        assert!(
            world.relay_policy(role).await.is_none(),
            "policy left on {role}"
        );
    }
    assert!(state_files(world.state_dir.path()).is_empty());

    let twice = aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |_| {})
        .await
        .expect("detach again");
    assert_eq!(twice.restored(), 0, "detach is idempotent");
    assert_eq!(world.configs().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_from_the_functions_records_alone() {
    let world = World::new().await;
    let before = world.configs().await;
    let report = attach_as(&world, "alice@laptop", false)
        .await
        .expect("attach");
    std::fs::remove_file(&report.state_file).expect("lose the state file");
    let detached = aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |_| {})
        .await
        .expect("detach");
    assert_eq!(detached.restored(), 3);
    assert!(
        detached
            .functions
            .iter()
            .all(|f| f.holder.as_deref() == Some("alice@laptop") || f.restored_from.is_none())
    );
    assert_eq!(world.configs().await, before);
    for role in world.roles().await {
        assert!(world.relay_policy(&role).await.is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_holder_is_refused_and_force_takes_over_keeping_the_originals() {
    let world = World::new().await;
    let before = world.configs().await;
    attach_as(&world, "alice@laptop", false)
        .await
        .expect("attach as alice");
    let alice = world.configs().await;

    let err = attach_as(&world, "bob@desk", false)
        .await
        .expect_err("held by alice");
    let text = err.to_string();
    assert!(
        text.contains("is attached by alice@laptop since 20"),
        "{text}"
    );
    assert!(text.ends_with("or pass --force to take over"), "{text}");
    assert_eq!(
        world.configs().await,
        alice,
        "a refused attach changes nothing"
    );

    let report = attach_as(&world, "bob@desk", true).await.expect("force");
    assert!(
        report
            .functions
            .iter()
            .all(|f| f.took_over_from.as_deref() == Some("alice@laptop"))
    );
    let plain = report
        .functions
        .iter()
        .find(|f| f.logical_id == "Plain")
        .expect("plain");
    assert_eq!(
        plain.original_timeout, 3,
        "the real original, not alice's 300"
    );
    let rec = record(&world.env(&plain.name));
    assert_eq!(rec["holder"], "bob@desk");
    assert_eq!(rec["orig"]["timeout"], 3);
    let wrapped = report
        .functions
        .iter()
        .find(|f| f.logical_id == "Wrapped")
        .expect("wrapped");
    let rec = record(&world.env(&wrapped.name));
    assert_eq!(
        rec["orig"]["wrapper"], OTHER_WRAPPER,
        "never our own wrapper recorded as the original"
    );
    let layers = world.config(&wrapped.name)["Layers"]
        .as_array()
        .map(Vec::len);
    assert_eq!(layers, Some(2), "one borescope layer, not two");

    // Same holder again (a crashed attach): takes over silently, same originals.
    attach_as(&world, "bob@desk", false)
        .await
        .expect("same holder");
    assert_eq!(record(&world.env(&plain.name))["orig"]["timeout"], 3);

    aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |_| {})
        .await
        .expect("detach");
    assert_eq!(world.configs().await, before);
    for role in world.roles().await {
        assert!(
            world.relay_policy(&role).await.is_none(),
            "both attaches' statements gone from {role}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_restores_from_the_state_file_when_a_record_was_removed_by_hand() {
    let world = World::new().await;
    let before = world.configs().await;
    let report = attach_as(&world, "alice@laptop", false).await.expect("attach");
    // Someone deletes BORESCOPE_LAMBDA in the console; the wrapper and the layer stay.
    let wrapped = report.functions.iter().find(|f| f.logical_id == "Wrapped").expect("wrapped");
    let mut env: std::collections::HashMap<String, String> =
        serde_json::from_value(world.env(&wrapped.name)).expect("env");
    env.remove("BORESCOPE_LAMBDA");
    let lambda = aws_sdk_lambda::Client::new(world.aws.sdk_config());
    lambda
        .update_function_configuration()
        .function_name(&wrapped.name)
        .environment(aws_sdk_lambda::types::Environment::builder().set_variables(Some(env)).build())
        .send()
        .await
        .expect("edit the environment");

    let detached = aws::detach(&world.aws, STACK, world.state_dir.path(), &mut |_| {}).await.expect("detach");
    let from_state: Vec<&str> = detached
        .functions
        .iter()
        .filter(|f| f.restored_from == Some(RestoreSource::StateFile))
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(from_state, [wrapped.name.as_str()]);
    assert_eq!(detached.restored(), 3);
    assert_eq!(world.configs().await, before);
}
