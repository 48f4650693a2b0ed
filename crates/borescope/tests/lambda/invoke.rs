//! `lambda invoke`: the SAM example's function run locally with an event, its result, its
//! error, its refusals, and a run under the debugger.

use super::{ctx, example, filtered, venv_python};

#[test]
fn invoke_prints_the_handler_result() {
    let ctx = ctx();
    let app = example(&ctx);
    let mut command = ctx.command();
    command.current_dir(&app).args(["lambda", "invoke", "CreateOrder", "--event", "events/create.json", "--python", &venv_python()]);
    let run = ctx.run_command(command);
    run.expect_code(0);
    // The template's variables reach the handler (STAGE from the parameter's default), the
    // context has a request id, and the value only AWS computes is named on stderr.
    insta::assert_snapshot!(filtered(&ctx, &format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr)));
}

#[test]
fn invoke_json_by_function_name_with_env_override() {
    let ctx = ctx();
    let app = example(&ctx);
    let mut command = ctx.command();
    command.current_dir(&app).args([
        "lambda", "invoke", "orders-api-dev-create", "--event", "events/create.json", "--env", "STAGE=prod", "--env", "TABLE_NAME=t",
        "--python", &venv_python(), "--json",
    ]);
    let run = ctx.run_command(command);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "TABLE_NAME was given, so nothing is left out");
    insta::assert_snapshot!(filtered(&ctx, &run.stdout));
}

#[test]
fn invoke_reports_the_handler_error_with_local_frames() {
    let ctx = ctx();
    let app = example(&ctx);
    std::fs::write(app.join("events/empty.json"), r#"{"body": "{}"}"#).expect("event");
    let mut command = ctx.command();
    command.current_dir(&app).args(["lambda", "invoke", "CreateOrder", "--event", "events/empty.json", "--python", &venv_python()]);
    let run = ctx.run_command(command);
    run.expect_code(1);
    insta::assert_snapshot!(filtered(&ctx, &format!("stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr)));
}

#[test]
fn invoke_refuses_bad_input() {
    let ctx = ctx();
    let app = example(&ctx);
    std::fs::write(app.join("events/bad.json"), "{not json").expect("event");
    let mut out = String::new();
    for args in [
        &["lambda", "invoke", "Nope", "--event", "events/create.json"][..],
        &["lambda", "invoke", "CreateOrder", "--event", "events/bad.json"],
        &["lambda", "invoke", "CreateOrder", "--event", "events/missing.json"],
        &["lambda", "invoke", "CreateOrder", "--event", "events/create.json", "--env", "NOEQUALS"],
        &["lambda", "invoke", "CreateOrder", "--event", "events/create.json", "--code", "nowhere"],
        &["lambda", "invoke", "CreateOrder", "--event", "events/create.json", "--break", "src/orders/pricing.py"],
    ] {
        let mut command = ctx.command();
        command.current_dir(&app).args(args);
        let run = ctx.run_command(command);
        out.push_str(&format!("$ {}\nexit {}\n{}\n", args[2..].join(" "), run.code, filtered(&ctx, &run.stderr)));
    }
    // Outside the project (no template.yaml here) without --handler.
    let run = ctx.run(["lambda", "invoke", "CreateOrder", "--event", "orders-api/events/create.json"]);
    out.push_str(&format!("$ (no template) CreateOrder\nexit {}\n{}\n", run.code, filtered(&ctx, &run.stderr)));
    insta::assert_snapshot!(out);
}

#[test]
fn invoke_with_break_becomes_a_session_that_finishes_the_invocation() {
    let ctx = ctx();
    let app = example(&ctx);
    let mut command = ctx.command();
    command.current_dir(&app).args([
        "lambda", "invoke", "CreateOrder", "--event", "events/create.json", "--break", "src/orders/pricing.py:6", "--session", "inv",
        "--python", &venv_python(),
    ]);
    let run = ctx.run_command(command);
    run.expect_code(0);
    insta::assert_snapshot!("invoke_break_stop", filtered(&ctx, &run.stdout));
    let vars = ctx.run(["eval", "subtotal", "--session", "inv"]);
    vars.expect_code(0).stdout_has("12.0");
    let cont = ctx.run(["continue", "--session", "inv"]);
    cont.expect_code(0);
    // The worker prints the answer when nobody listens on its socket any more.
    let mut output = String::new();
    for _ in 0..100 {
        output = ctx.run(["output", "--session", "inv"]).stdout;
        if output.contains("[borescope] invocation ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(output.contains(" returned {\"statusCode\": 201") && output.contains(r#"\"total\": 14.4"#), "{output}");
    ctx.run(["stop", "--session", "inv"]).expect_code(0);
}
