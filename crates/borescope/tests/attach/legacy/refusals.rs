//! What `ps` says about Python 3.9–3.13 processes (attachable through ptrace) next to 3.14 (PEP
//! 768) and 3.8 (refused), and a process another tracer already holds.

use super::{tracer, Py};
use crate::{ctx, fixture, ready};
use borescope_test::interpreters;
use borescope_test::targets::TargetProcess;
use insta::assert_snapshot;

#[test]
fn ps_shows_the_method_for_each_python() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let word = format!("methodmarker{}", std::process::id());
    let args = ["service.py", word.as_str()];
    let legacy: Vec<(Py, TargetProcess)> = [Py::V311, Py::V312, Py::V313].into_iter().map(|py| (py, py.start(&ctx, &args))).collect();
    let boxed = TargetProcess::container(&ctx.work(), &["--pid", "--net"], &["python3.13", "service.py", &word], &[]);
    let newest = TargetProcess::plain(&ctx.work(), &args, &[]);
    let oldest = TargetProcess::program(&ctx.work(), interpreters::pyenv_python("3.8"), &args);
    for target in legacy.iter().map(|(_, t)| t).chain([&boxed, &newest, &oldest]) {
        ready(target);
    }
    let listed = ctx.run(["ps", "--json", "--interval", "0", "--name", &word]);
    listed.expect_code(0);
    let json = listed.json();
    let find = |pid: u32| {
        json["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).cloned().unwrap_or_else(|| panic!("pid {pid} missing: {json:#}"))
    };
    for (py, target) in &legacy {
        let entry = find(target.pid);
        assert!(entry["python"].as_str().unwrap().starts_with(&format!("{}.", py.minor())), "{entry:#}");
        assert_eq!(entry["attachable"], true, "{entry:#}");
        assert_eq!(entry["method"], "ptrace", "{entry:#}");
    }
    let container = find(boxed.pid);
    assert_eq!((container["container"].clone(), container["pid_inside"].clone()), (true.into(), 1.into()), "{container:#}");
    assert_eq!(container["method"], "ptrace", "{container:#}");
    assert_eq!(container["attachable"], true, "{container:#}");
    let pep768 = find(newest.pid);
    assert_eq!(pep768["method"], "pep768", "{pep768:#}");
    assert_eq!(pep768["attachable"], true);
    let too_old = find(oldest.pid);
    assert_eq!(too_old["python"], "3.8", "only the minor is known from the file name: {too_old:#}");
    assert_eq!(too_old["attachable"], false, "{too_old:#}");
    assert_eq!(too_old["method"], serde_json::Value::Null, "{too_old:#}");
    assert_eq!(too_old["why_not"], "Python 3.8: attaching needs 3.9+", "{too_old:#}");
}

#[test]
fn a_process_another_tracer_holds_is_refused_naming_the_tracer() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let python = interpreters::host_python().display().to_string();
    let target = TargetProcess::under(&ctx.work(), "strace", &["-f", "-o", "/dev/null", &python, "service.py"], &[]);
    ready(&target);
    let holder = tracer(target.pid);
    assert_ne!(holder, 0, "strace traces the program");
    let pid = target.pid.to_string();
    let refused = ctx.run(["attach", &pid]);
    refused
        .expect_code(2)
        .stderr_has(&format!("pid {pid} is already being traced by pid {holder} (`strace`)"))
        .stderr_has("hint: detach that tracer");
    assert_snapshot!("legacy_traced", refused.snapshot());
    ctx.run(["exec", &pid, "-c", "1"]).expect_code(2).stderr_has(&format!("traced by pid {holder} (`strace`)"));
    let listed = ctx.run(["ps", "--json", "--interval", "0"]).json();
    let entry = listed["processes"].as_array().unwrap().iter().find(|p| p["pid"] == target.pid).cloned().expect("listed");
    assert_eq!(entry["attachable"], false, "{entry:#}");
    assert!(entry["why_not"].as_str().unwrap().contains("strace"), "{entry:#}");
    // Untouched: still traced by strace alone, still running.
    assert_eq!(tracer(target.pid), holder);
    assert!(target.is_running());
}

/// A version read from the interpreter's file name (3.8–3.10 export no `Py_Version`) is shown
/// as far as it is known (`3.9`), never with a patch level borescope did not read (`3.9.0` for a
/// 3.9.18).
#[test]
fn versions_known_from_a_file_name_show_no_made_up_patch_level() {
    let ctx = ctx();
    fixture(&ctx, "service.py");
    let word = format!("namemarker{}", std::process::id());
    let target = TargetProcess::program(&ctx.work(), interpreters::pyenv_python("3.9"), &["service.py", &word]);
    ready(&target);
    let real = std::process::Command::new(interpreters::pyenv_python("3.9"))
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    let listed = ctx.run(["ps", "--json", "--interval", "0", "--name", &word]).json();
    let entry = listed["processes"][0].clone();
    assert_eq!(entry["python_source"], "file_name", "{entry:#}");
    let shown = entry["python"].as_str().unwrap_or_default().to_string();
    assert!(shown == "3.9" || shown == real, "ps shows Python {shown:?} for a {real}: {entry:#}");
}
