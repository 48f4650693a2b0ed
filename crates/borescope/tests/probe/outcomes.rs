//! The four outcomes and every kind of location, on both engines.

use crate::{each_python, probe_json, probe_json_with};
use serde_json::Value;

fn locals(stop: &Value) -> Vec<(String, String)> {
    stop["locals"]
        .as_array()
        .map(|vars| {
            vars.iter()
                .map(|v| (v["name"].as_str().unwrap_or("").to_string(), v["value"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn local(stop: &Value, name: &str) -> String {
    locals(stop)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no local {name} in {stop:#}"))
}

use borescope_test::pid_is_gone;

each_python!(function_line_is_hit_and_program_ended, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:8", "--eval", "a + b", "--eval", "nope"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outcome"], "hit");
    assert_eq!(report["engine"], py.engine());
    let stop = &report["stops"][0];
    assert_eq!(stop["reason"]["kind"], "breakpoint");
    assert_eq!(stop["function"], "add");
    assert_eq!(stop["location"]["line"], 8);
    assert_eq!(stop["location"]["file"], file.to_str().unwrap());
    assert_eq!(local(stop, "a"), "0");
    assert_eq!(local(stop, "b"), "2");
    assert_eq!(stop["evals"][0]["value"]["value"], "2");
    assert!(stop["evals"][1]["error"].as_str().unwrap().contains("NameError"));
    assert_eq!(stop["stack"][0]["function"], "add");
    assert_eq!(stop["stack"][1]["function"], "main");
    assert_eq!(stop["stack"][0]["kind"], "user");
    assert!(report["exit"].is_null(), "borescope ended the program");
    assert!(pid_is_gone(report["pid"].as_i64().unwrap()), "no orphan debuggee");
});

each_python!(thread_hit_follows_the_thread_that_ran_it, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:13"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(stop["thread"]["name"], "Worker-7");
    assert_eq!(stop["function"], "worker");
    assert_eq!(local(stop, "n"), "7");
});

each_python!(generator_line_with_hit_count, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:19", "--hit", "3"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(stop["reason"]["hit"], 3);
    assert_eq!(local(stop, "i"), "2");
});

each_python!(coroutine_line, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:25", "--if", "x == 2"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(stop["function"], "fetch");
    assert_eq!(local(stop, "x"), "2");
    let kinds: Vec<&str> = stop["stack"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"runtime"), "asyncio frames are runtime frames: {kinds:?}");
});

each_python!(condition_and_hits_collect_several, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:19", "--hits", "3", "--if", "i >= 1"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    let stops = report["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 3);
    let seen: Vec<String> = stops.iter().map(|s| local(s, "i")).collect();
    assert_eq!(seen, ["1", "2", "3"]);
    assert_eq!(report["hits_requested"], 3);
});

each_python!(hits_beyond_what_runs_report_the_partial_set, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:8", "--hits", "5"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stops"].as_array().unwrap().len(), 1);
    assert_eq!(report["exit"]["code"], 0, "the program exited on its own");
});

each_python!(uncaught_exception_is_reported_with_user_frames, |ctx, py| {
    let file = ctx.fixture("python", "boom.py");
    let (code, report) = probe_json(&ctx, &["boom.py:3"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["outcome"], "exception");
    let stop = &report["stops"][0];
    assert_eq!(stop["reason"]["type_name"], "KeyError");
    assert_eq!(stop["reason"]["message"], "'missing'");
    assert_eq!(stop["reason"]["raised_at"]["line"], 2);
    assert_eq!(stop["location"]["line"], 2);
    assert_eq!(stop["function"], "lookup");
    assert_eq!(local(stop, "key"), "'missing'");
    assert!(local(stop, "table").contains("'password': <redacted>"), "{stop:#}");
    assert_eq!(report["exit"]["code"], 1);
    let output = report["output"]["lines"].to_string();
    assert!(output.contains("looking up") && output.contains("KeyError"), "{output}");
});

each_python!(uncaught_exception_after_hits_is_the_outcome, |ctx, py| {
    let file = ctx.fixture("python", "steps.py");
    let (code, report) = probe_json(&ctx, &["steps.py:2", "--hits", "5"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 1, "an uncaught exception is a failed probe, whatever came before: {report:#}");
    assert_eq!(report["outcome"], "exception");
    let stops = report["stops"].as_array().unwrap();
    assert_eq!(stops.len(), 4, "three hits, then the exception: {report:#}");
    for (i, hit) in stops[..3].iter().enumerate() {
        assert_eq!(hit["reason"]["kind"], "breakpoint");
        assert_eq!(local(hit, "i"), i.to_string());
    }
    assert_eq!(stops[3]["reason"]["kind"], "exception");
    assert_eq!(stops[3]["reason"]["type_name"], "RuntimeError");
    assert_eq!(report["hits_requested"], 5);
    assert_eq!(report["engine"], py.engine());
});

each_python!(exit_without_reaching_gives_code_output_and_reason, |ctx, py| {
    let file = ctx.fixture("python", "never.py");
    let (code, report) = probe_json(&ctx, &["never.py:5"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "not_reached");
    assert_eq!(report["exit"]["code"], 3);
    let lines = report["output"]["lines"].as_array().unwrap();
    assert_eq!(lines[0]["text"], "hello from never.py");
    assert_eq!(lines[0]["stream"], "stdout");
    assert_eq!(lines[1]["stream"], "stderr");
    let notices = report["notices"].to_string();
    assert!(notices.contains("was loaded, but line 5 never ran"), "{notices}");
});

each_python!(no_command_on_an_imported_file_says_what_ran, |ctx, py| {
    ctx.write("helpers.py", "def double(x):\n    return x * 2\n");
    // No command: borescope runs the file itself, which only defines `double`.
    let (code, report) = probe_json_with(&ctx, &["helpers.py:2"], py);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["outcome"], "not_reached");
    let notices = report["notices"].to_string();
    assert!(notices.contains("no command was given, so borescope ran `"), "{notices}");
    assert!(notices.contains(" helpers.py`, the file itself"), "{notices}");
    assert!(notices.contains("`borescope probe helpers.py:2 -- python3 MAIN.py`"), "{notices}");
    // With a command, that is not said.
    let main = ctx.write("main.py", "import helpers\nprint(helpers.double(21))\n");
    let (code, report) = probe_json(&ctx, &["helpers.py:2"], &py.cmd(&[main.to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
});

each_python!(file_never_loaded_is_said_so, |ctx, py| {
    ctx.fixture("python", "pkg/__init__.py");
    ctx.fixture("python", "pkg/tool.py");
    let never = ctx.fixture("python", "never.py");
    let (code, report) = probe_json(&ctx, &["pkg/tool.py:5"], &py.cmd(&[never.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(report["notices"].to_string().contains("was never loaded"), "{report:#}");
});

each_python!(false_condition_is_explained, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    let (code, report) = probe_json(&ctx, &["flow.py:19", "--if", "i > 100"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(report["notices"].to_string().contains("ran 4 times; --if `i > 100` was never true"), "{report:#}");
});

each_python!(timeout_shows_where_the_program_was, |ctx, py| {
    let file = ctx.fixture("python", "spin.py");
    let (code, report) = probe_json(&ctx, &["spin.py:9", "--if", "False", "--timeout", "1.5"], &py.cmd(&[file.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "timeout");
    let main = report["threads"].as_array().unwrap().iter().find(|t| t["thread"]["name"] == "MainThread").expect("main thread");
    let frames = main["stack"].as_array().unwrap();
    assert!(frames.iter().any(|f| f["function"] == "wait_forever"), "{frames:?}");
    assert!(pid_is_gone(report["pid"].as_i64().unwrap()));
});

each_python!(module_entry_with_args, |ctx, py| {
    ctx.fixture("python", "pkg/__init__.py");
    ctx.fixture("python", "pkg/tool.py");
    let (code, report) = probe_json(&ctx, &["pkg/tool.py:6"], &py.cmd(&["-m", "pkg.tool", "probe"]));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(local(&report["stops"][0], "message"), "'hello probe'");
});

each_python!(pytest_entry, |ctx, py| {
    ctx.fixture("python", "pkg/__init__.py");
    ctx.fixture("python", "pkg/tool.py");
    ctx.fixture("python", "tests/test_tool.py");
    let python = match py {
        crate::Py::Host => vec![borescope_test::interpreters::venv_python().display().to_string()],
        crate::Py::HostSettrace => vec![
            "env".into(),
            format!("{}=settrace", borescope_static::EnvVars::BORESCOPE_PROBE_ENGINE),
            borescope_test::interpreters::venv_python().display().to_string(),
        ],
        crate::Py::Sid => py.prefix(),
    };
    let mut command = python;
    command.extend(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_tool.py::test_run"].map(String::from));
    let (code, report) = probe_json(&ctx, &["tests/test_tool.py:6"], &command);
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(stop["function"], "test_run");
    assert_eq!(local(stop, "result"), "'hello pytest'");
    if matches!(py, crate::Py::Host) {
        // pytest rewrote the test's asserts, so its code is not what the file compiles to:
        // the rewrite engine must not swap it, says it traced instead, and the report names
        // the engine that did the work.
        assert!(report["notices"].to_string().contains("pytest's assert rewriting"), "{report:#}");
        assert_eq!(report["engine"], "settrace", "{report:#}");
    } else {
        assert_eq!(report["engine"], py.engine(), "{report:#}");
    }
    let kinds: Vec<&str> = stop["stack"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "user");
    assert!(kinds.contains(&"library"), "pytest frames are library frames: {kinds:?}");
});

each_python!(args_env_and_cwd_reach_the_program, |ctx, py| {
    let file = ctx.fixture("python", "echo_env.py");
    std::fs::create_dir_all(ctx.work().join("sub")).unwrap();
    let (code, report) = probe_json(
        &ctx,
        &["echo_env.py:8", "--env", "GREETING=hi there", "--cwd", "sub"],
        &py.cmd(&[file.to_str().unwrap(), "one", "two words"]),
    );
    assert_eq!(code, 0, "{report:#}");
    let stop = &report["stops"][0];
    assert_eq!(local(stop, "args"), "['one', 'two words']");
    assert_eq!(local(stop, "greeting"), "'hi there'");
    assert!(local(stop, "where").ends_with("/work/sub'"), "{}", local(stop, "where"));
});

each_python!(symlinks_and_dotdot_name_the_same_file, |ctx, py| {
    let file = ctx.fixture("python", "flow.py");
    std::os::unix::fs::symlink(ctx.work(), ctx.root.join("link")).unwrap();
    std::fs::create_dir_all(ctx.work().join("sub")).unwrap();
    let via_link = ctx.root.join("link/sub/../flow.py");
    let location = format!("{}:8", via_link.display());
    let (code, report) = probe_json(&ctx, &[&location], &py.cmd(&[ctx.root.join("link/flow.py").to_str().unwrap()]));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["locations"][0]["file"], file.to_str().unwrap());
});

each_python!(every_kind_of_function_is_watched, |ctx, py| {
    let file = ctx.fixture("python", "shapes.py");
    ctx.fixture("python", "importtime.py");
    let command = py.cmd(&[file.to_str().unwrap()]);
    let cases: [(&str, &str, &str, &str); 7] = [
        ("shapes.py:22", "add", "price", "3"),
        ("shapes.py:27", "total", "self", ""),
        ("shapes.py:31", "currency", "", ""),
        ("shapes.py:36", "inner", "y", "2"),
        ("shapes.py:44", "decorated", "v", "9"),
        ("shapes.py:51", "grade", "n", "7"),
        ("importtime.py:5", "compute", "k", "21"),
    ];
    for (location, function, name, value) in cases {
        let (code, report) = probe_json(&ctx, &[location], &command);
        assert_eq!(code, 0, "{location}: {report:#}");
        assert_eq!(report["engine"], py.engine(), "{location}");
        let stop = &report["stops"][0];
        assert_eq!(stop["function"], function, "{location}");
        if !name.is_empty() && !value.is_empty() {
            assert_eq!(local(stop, name), value, "{location}");
        }
    }
    // The thread that ran the decorated function is the one reported.
    let (_, report) = probe_json(&ctx, &["shapes.py:44"], &command);
    assert_eq!(report["stops"][0]["thread"]["name"], "Side");
});
