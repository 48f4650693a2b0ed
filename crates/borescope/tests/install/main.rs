//! Installing borescope every way the README gives, each checked by running the README's
//! first probe with the installed command found on PATH:
//!
//! * the Python wheel, built by `maturin build` from this workspace's pyproject.toml, then
//!   installed by pip into a fresh virtualenv, by `uv tool install` and by `pipx install`,
//!   each inside a new network namespace (no network at all);
//! * `cargo install --path crates/borescope --locked` into a temporary root.
//!
//! Both builds use the `install-test` profile (dev's settings in a directory of its own, see
//! the workspace Cargo.toml) in the target directory the tests were built in, so a warm run
//! recompiles only what changed, incrementally, and never touches the `target/debug/borescope`
//! other tests run. A release build compiles the same code but takes minutes after every
//! change, too slow for every CI run. The builds run in one test, one after the other, because
//! both write `target/install-test/borescope`.

use borescope_test::{Run, TestContext, interpreters};
use insta::assert_snapshot;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The cargo profile both builds use.
const PROFILE: &str = "install-test";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The target directory this test was built in: CARGO_TARGET_DIR when it is absolute (as
/// .ci/run sets it), else the one holding the borescope binary under test.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_borescope"));
    bin.parent().and_then(Path::parent).expect("target dir above debug/borescope").to_path_buf()
}

/// Runs a command to completion; panics with its output unless it succeeded.
#[track_caller]
fn succeed(command: &mut Command, what: &str) -> String {
    let Output { status, stdout, stderr } =
        command.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("{what} failed ({status}):\n{stdout}\n{}", tail.join("\n"));
    }
    stdout
}

/// `program` in a new network namespace: nothing but a loopback that is down, so any attempt
/// to reach an index fails.
fn offline(program: impl Into<OsString>) -> Command {
    let mut command = Command::new("unshare");
    command.arg("--net").arg("--").arg(program.into());
    command
}

/// A command for an installer, with HOME and caches inside the test's directory.
fn installer(ctx: &TestContext, program: impl Into<OsString>) -> Command {
    let mut command = offline(program);
    for name in ["XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "PIP_INDEX_URL", "UV_INDEX_URL"] {
        command.env_remove(name);
    }
    command
        .env("HOME", ctx.root.join("home"))
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("UV_NO_CONFIG", "1")
        .current_dir(&ctx.root);
    command
}

/// `maturin build` of the workspace's pyproject.toml; returns the wheel.
fn build_wheel(ctx: &TestContext) -> PathBuf {
    let dist = ctx.root.join("dist");
    succeed(
        Command::new(interpreters::packaging_tool("maturin"))
            .args(["build", "--offline", "--profile", PROFILE, "--out"])
            .arg(&dist)
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(workspace_root()),
        "maturin build",
    );
    let wheels: Vec<PathBuf> =
        std::fs::read_dir(&dist).expect("read dist").map(|e| e.expect("dist entry").path()).collect();
    assert_eq!(wheels.len(), 1, "expected one wheel: {wheels:?}");
    wheels.into_iter().next().expect("one wheel")
}

/// Reads the wheel (a zip) with the host Python: its file names, and METADATA.
fn wheel_contents(wheel: &Path) -> (Vec<String>, String) {
    const READ: &str = "import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print('\\n'.join(z.namelist()))
print('----')
sys.stdout.write(z.read(sys.argv[2]).decode())";
    let text = succeed(
        Command::new(interpreters::host_python())
            .args(["-c", READ])
            .arg(wheel)
            .arg(format!("borescope-{VERSION}.dist-info/METADATA")),
        "reading the wheel",
    );
    let (names, metadata) = text.split_once("----\n").expect("separator");
    (names.lines().map(str::to_string).collect(), metadata.to_string())
}

/// The wheel holds the binary and its metadata, nothing else: no Python files (the agent is
/// inside the binary) and no dependencies.
fn check_wheel(wheel: &Path) {
    let name = wheel.file_name().and_then(|n| n.to_str()).expect("wheel name");
    assert!(
        name.starts_with(&format!("borescope-{VERSION}-py3-none-manylinux_")) && name.ends_with(&format!("_{}.whl", std::env::consts::ARCH)),
        "unexpected wheel name {name}"
    );
    let (names, metadata) = wheel_contents(wheel);
    let dist_info = format!("borescope-{VERSION}.dist-info/");
    let payload: Vec<&String> = names.iter().filter(|n| !n.starts_with(&dist_info)).collect();
    assert_eq!(payload, [&format!("borescope-{VERSION}.data/scripts/borescope")], "{names:?}");
    for line in [
        "Name: borescope",
        &format!("Version: {VERSION}"),
        "Requires-Python: >=3.9",
        "License-Expression: MIT OR Apache-2.0",
    ] {
        assert!(metadata.lines().any(|l| l == line), "METADATA lacks {line:?}:\n{metadata}");
    }
    assert!(!metadata.contains("Requires-Dist:"), "the wheel must need nothing else:\n{metadata}");
}

/// pip, into a fresh virtualenv; returns the directory holding the command.
fn pip_install(ctx: &TestContext, wheel: &Path) -> PathBuf {
    let venv = ctx.root.join("venv");
    succeed(installer(ctx, interpreters::host_python()).args(["-m", "venv"]).arg(&venv), "python -m venv");
    succeed(
        installer(ctx, venv.join("bin/python"))
            .args(["-m", "pip", "install", "--no-index", "--disable-pip-version-check", "--quiet"])
            .arg(wheel),
        "pip install --no-index",
    );
    venv.join("bin")
}

/// `uv tool install`; returns the directory holding the command.
fn uv_tool_install(ctx: &TestContext, wheel: &Path) -> PathBuf {
    let bin = ctx.root.join("uv-bin");
    succeed(
        installer(ctx, interpreters::packaging_tool("uv"))
            .args(["tool", "install", "--offline", "--quiet", "--python"])
            .arg(interpreters::host_python())
            .arg(wheel)
            .env("UV_TOOL_DIR", ctx.root.join("uv-tools"))
            .env("UV_TOOL_BIN_DIR", &bin)
            .env("UV_CACHE_DIR", ctx.root.join("uv-cache")),
        "uv tool install",
    );
    bin
}

/// `pipx install`; returns the directory holding the command.
fn pipx_install(ctx: &TestContext, wheel: &Path) -> PathBuf {
    let bin = ctx.root.join("pipx-bin");
    succeed(
        installer(ctx, interpreters::packaging_tool("pipx"))
            .args(["install", "--quiet", "--pip-args=--no-index", "--python"])
            .arg(interpreters::host_python())
            .arg(wheel)
            .env("PIPX_HOME", ctx.root.join("pipx-home"))
            .env("PIPX_BIN_DIR", &bin)
            .env("PIPX_MAN_DIR", ctx.root.join("pipx-man")),
        "pipx install",
    );
    bin
}

/// `cargo install --path crates/borescope --locked`; returns the directory holding the command.
fn cargo_install(ctx: &TestContext) -> PathBuf {
    let root = ctx.root.join("cargo-root");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    succeed(
        Command::new(cargo)
            .args(["install", "--path", "crates/borescope", "--locked", "--offline", "--profile", PROFILE])
            .arg("--root")
            .arg(&root)
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(workspace_root()),
        "cargo install --path crates/borescope",
    );
    root.join("bin")
}

/// The README's first command, with `bin_dir` first on PATH the way an activated virtualenv
/// (or ~/.local/bin, ~/.cargo/bin) puts it; checks that `borescope` resolves there.
fn probe_with(ctx: &TestContext, bin_dir: &Path) -> Run {
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&inherited)))
        .expect("PATH");
    let found = succeed(Command::new("sh").args(["-c", "command -v borescope"]).env("PATH", &path), "command -v");
    assert_eq!(Path::new(found.trim()), bin_dir.join("borescope"));
    let mut command = ctx.isolated("borescope");
    command.env("PATH", &path).args(["probe", "orders.py:16"]);
    ctx.run_command(command)
}

#[test]
fn every_install_method_gives_a_working_borescope() {
    let ctx = TestContext::new(env!("CARGO_BIN_EXE_borescope"));
    let example = std::fs::read_to_string(workspace_root().join("examples/orders.py")).expect("example");
    ctx.write("orders.py", &example);

    let wheel = build_wheel(&ctx);
    check_wheel(&wheel);

    let from_pip = probe_with(&ctx, &pip_install(&ctx, &wheel));
    from_pip.expect_code(0).stdout_has("Stopped at breakpoint orders.py:16");
    assert_snapshot!("probe_with_installed_command", from_pip.snapshot());

    let installs = [
        ("uv tool install", uv_tool_install(&ctx, &wheel)),
        ("pipx install", pipx_install(&ctx, &wheel)),
        ("cargo install", cargo_install(&ctx)),
    ];
    for (how, bin_dir) in installs {
        let run = probe_with(&ctx, &bin_dir);
        run.expect_code(0);
        assert_eq!(run.snapshot(), from_pip.snapshot(), "borescope from {how} reports differently");
    }
}
