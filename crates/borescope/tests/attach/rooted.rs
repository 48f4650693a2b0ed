//! A target in a container whose root the host cannot name, as with runc: it entered its root
//! with `pivot_root`, so `/proc/PID/root` reads `/` from here, and its application directory is
//! a tmpfs of its own mount namespace, reached by an absolute symlink (`current -> /srv/...`)
//! that means something else on the host. Breakpoints (at attach and after), the refusal of
//! lines without code and the source shown at a stop must all look inside the target's root.

use crate::{ctx, fixture, ready};
use borescope_test::targets::TargetProcess;
use std::path::Path;

#[test]
fn breakpoints_and_source_inside_a_root_the_host_cannot_see() {
    let ctx = ctx();
    // The application tree the container gets a copy of at /srv (a tmpfs only it can see).
    let name = format!("app-{}", ctx.root.file_name().unwrap().to_string_lossy());
    let tree = ctx.root.join("copy-in");
    let release = tree.join(&name).join("v2");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::copy(fixture(&ctx, "service.py"), release.join("service.py")).unwrap();
    let app = format!("/srv/{name}");
    std::os::unix::fs::symlink(format!("{app}/v2"), tree.join(&name).join("current")).unwrap();

    let script = format!("{app}/current/service.py");
    let copy_in = format!("{}:/srv", tree.display());
    let flags = ["--pid", "--net", "--private-tmp", "--pivot", "--copy-in", &copy_in];
    let target = TargetProcess::container(&ctx.work(), &flags, &["python3.14", &script], &[]);
    ready(&target);
    let pid = target.pid.to_string();
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/root")).unwrap(), Path::new("/"), "the host must not be able to name its root");
    assert!(!Path::new(&app).exists(), "`{app}` must exist only inside the container");
    let real = format!("{app}/v2/service.py");

    // `attach --break` with the container's path (the file exists only in its root).
    ctx.run(["attach", &pid, "--break", &format!("{real}:9")]).expect_code(0).stdout_has("attached to pid");
    let listed = ctx.run(["break", "--list", "--json"]).json();
    assert_eq!(listed["breakpoints"][0]["spec"]["location"]["file"], real.as_str(), "{listed:#}");
    // debugpy names the frame by the path the program was started with (through the absolute
    // symlink); its source is read by resolving that symlink in the container's root.
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has(&format!("{app}/current/service.py:9 in handle (thread MainThread, hit 1)"))
        .stdout_has(">  9 |     return total")
        .stdout_has("label: str = 'req-");

    // `break` after attach: the line check reads the container's file, the names stay its own.
    ctx.run(["break", &format!("{app}/current/service.py:4")])
        .expect_code(2)
        .stderr_has("no code on this line (blank line); nearest lines with code: 3, 6");
    ctx.run(["break", &format!("{app}/current/missing.py:1")])
        .expect_code(2)
        .stderr_has(&format!("file not found in the attached process's filesystem (`{app}/v2/missing.py` does not exist)"));
    ctx.run(["break", &format!("{app}/current/../v2/service.py:18")])
        .expect_code(0)
        .stdout_has(&format!("{real}:18 [verified]"));
    ctx.run(["break", "--delete", &format!("{app}/current/service.py:9")]).expect_code(0);
    ctx.run(["continue"])
        .expect_code(0)
        .stdout_has("service.py:18 in main")
        .stdout_has("> 18 |         time.sleep(0.02)");

    ctx.run(["stop"]).expect_code(0).stdout_has("detached");
    assert!(target.is_running(), "detach must leave the program running");
}
