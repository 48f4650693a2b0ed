//! The interpreters and tools tests run against. Each is installed by `scripts/test-setup.sh`;
//! a missing one fails the test with the command that installs it (a skipped test would hide a
//! gap).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The cache directory the setup script fills (not the per-test cache).
pub fn shared_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("BORESCOPE_TEST_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/borescope")
}

fn require(path: PathBuf, what: &str) -> PathBuf {
    if !path.exists() {
        panic!("{what} is missing at {}; run `scripts/test-setup.sh` first", path.display());
    }
    path
}

/// The host's real Python 3 executable (not a pyenv shim). What is installed in it is the
/// machine's business: a test that needs an interpreter without debugpy uses
/// [`bare_venv_python`].
pub fn host_python() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 on PATH");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// A virtualenv of the host Python with only pip in it (no debugpy), for tests about a
/// program whose interpreter lacks debugpy. The host's own `python3` may have anything
/// installed, so tests never assume what it lacks. Created on first use under the shared cache
/// (`venv-bare/`), under a file lock so parallel test processes build it once, and checked:
/// if `import debugpy` works in it, the test fails saying why.
pub fn bare_venv_python() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cache = shared_cache();
        std::fs::create_dir_all(&cache).expect("create the shared test cache");
        let dir = cache.join("venv-bare");
        let python = dir.join("bin/python");
        let stamp = dir.join(".borescope-v1");
        let lock = std::fs::File::create(cache.join("venv-bare.lock")).expect("create venv-bare.lock");
        lock.lock().expect("lock venv-bare.lock");
        if !stamp.exists() {
            let _ = std::fs::remove_dir_all(&dir);
            let made = Command::new(host_python())
                .args(["-m", "venv"])
                .arg(&dir)
                .env_remove("PYTHONPATH")
                .output()
                .expect("run `python3 -m venv`");
            assert!(
                made.status.success(),
                "`{} -m venv {}` failed: {}",
                host_python().display(),
                dir.display(),
                String::from_utf8_lossy(&made.stderr)
            );
            std::fs::write(&stamp, "").expect("write the venv stamp");
        }
        let probe = Command::new(&python)
            .args(["-c", "import importlib.util as u; s = u.find_spec('debugpy'); print(s.origin if s else '')"])
            .env_remove("PYTHONPATH")
            .output()
            .expect("run the bare venv's python");
        let found = String::from_utf8_lossy(&probe.stdout).trim().to_string();
        assert!(probe.status.success(), "the bare venv's python does not run: {}", String::from_utf8_lossy(&probe.stderr));
        assert!(found.is_empty(), "the bare venv at {} can import debugpy (from {found}); remove it and rerun", dir.display());
        drop(lock);
        python
    })
    .clone()
}

/// The test venv's Python (host Python with debugpy and pytest).
pub fn venv_python() -> PathBuf {
    require(shared_cache().join("venv/bin/python"), "the test virtualenv")
}

/// The host Python in a virtualenv with Flask, FastAPI, uvicorn and gunicorn (live-snapshot
/// apps; `scripts/test-setup.sh` builds it).
pub fn web_venv_python() -> PathBuf {
    require(shared_cache().join("venv-web/bin/python"), "the web-framework virtualenv")
}

/// The wrapper that runs a command inside the Debian sid root filesystem.
pub fn in_sid() -> PathBuf {
    require(shared_cache().join("sid-rootfs/usr/bin/python3.14"), "the sid rootfs (Python 3.14)");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/in-sid")
}

/// Python 3.14 from the sid rootfs run as a plain process of this machine (`scripts/sid-python`:
/// the rootfs's loader and libraries, our filesystem view), one process with no wrapper.
pub fn sid_python() -> PathBuf {
    in_sid(); // checks the rootfs is there
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sid-python")
}

/// Python 3.13 from the sid rootfs as a plain process of this machine (`scripts/sid-python3.13`,
/// like [`sid_python`]: started through the rootfs's dynamic loader, so the kernel's `AT_ENTRY`
/// is the loader's entry point, not the interpreter's). In a container stand-in it is
/// `in-sid FLAGS python3.13 ...` ([`crate::targets::TargetProcess::container`]).
pub fn sid_python313() -> PathBuf {
    require(shared_cache().join("sid-rootfs/usr/bin/python3.13"), "the sid rootfs (Python 3.13)");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sid-python3.13")
}

/// A pyenv build of CPython `minor` (e.g. `"3.12"`, `"3.8"`): `~/.pyenv/versions/MINOR.*/bin/pythonMINOR`,
/// the newest patch release present. Neither PyPI nor Debian's suites reachable here carry a
/// CPython 3.12 or 3.8 (no python-build-standalone-style wheel on PyPI; no python3.12 in any
/// Debian suite), and machines of this kind come with pyenv builds of 3.8–3.13 beside the host's
/// 3.11; a missing one fails the test with the command that builds it.
pub fn pyenv_python(minor: &str) -> PathBuf {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root")).join(".pyenv"));
    let versions = root.join("versions");
    let prefix = format!("{minor}.");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(&versions)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let patch = name.strip_prefix(&prefix)?.parse::<u32>().ok()?;
                    Some((patch, e.path().join("bin").join(format!("python{minor}"))))
                })
                .filter(|(_, python)| python.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.pop() {
        Some((_, python)) => python,
        None => panic!(
            "CPython {minor} is missing: no {}/{minor}.*/bin/python{minor}; install it with `pyenv install {minor}` \
             (machines of this kind ship it under ~/.pyenv/versions)",
            versions.display()
        ),
    }
}

/// Python 3.13 from the sid rootfs with AWS's Lambda runtime interface client (`awslambdaric`)
/// importable (`scripts/lambda-python`, a plain process of this machine like [`sid_python`]):
/// the interpreter a managed runtime's bootstrap would exec in the Lambda tests.
pub fn lambda_python() -> PathBuf {
    require(shared_cache().join("sid-rootfs/opt/lambda-runtime/awslambdaric"), "awslambdaric for the sid rootfs's Python 3.13");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lambda-python")
}

/// The loopback Lambda Runtime API test server (`python python/tests/lambda_runtime_api.py
/// --port-file FILE`; stdlib only, any Python 3.9+ runs it).
pub fn lambda_runtime_api_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/tests/lambda_runtime_api.py")
}

/// `node`.
pub fn node() -> PathBuf {
    PathBuf::from("node")
}

/// The MCP Inspector's command-line entry (an MCP client from npm).
pub fn mcp_inspector() -> PathBuf {
    require(shared_cache().join("npm/node_modules/.bin/mcp-inspector"), "the MCP Inspector (npm)")
}

/// A Python packaging tool (`maturin`, `uv`, `pipx`; pinned, in their own cached virtualenv).
pub fn packaging_tool(name: &str) -> PathBuf {
    require(shared_cache().join("pkgtools/bin").join(name), "the packaging tools (maturin, uv, pipx)")
}

/// A directory holding the debugpy wheel borescope provisions
/// ([`borescope_static::DEBUGPY_VERSION`]), downloaded once under the shared cache (`debugpy-wheel/`,
/// under a file lock, retried) and handed to every borescope a test runs as pip's only source
/// (`PIP_FIND_LINKS` + `PIP_NO_INDEX`, see [`crate::TestContext::isolated`]). borescope still
/// runs pip to put its copy together, exactly as for a user; only the index download is taken
/// out of the tests, where dozens of parallel downloads made a run depend on the network's mood.
pub fn debugpy_wheel_dir() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cache = shared_cache();
        let dir = cache.join("debugpy-wheel");
        std::fs::create_dir_all(&dir).expect("create the shared wheel directory");
        let wanted = format!("debugpy-{}-", borescope_static::DEBUGPY_VERSION);
        let present = |dir: &std::path::Path| {
            std::fs::read_dir(dir).map(|entries| {
                entries.flatten().any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with(&wanted) && name.ends_with("-none-any.whl")
                })
            })
        };
        if present(&dir).unwrap_or(false) {
            return dir;
        }
        let lock = std::fs::File::create(cache.join("debugpy-wheel.lock")).expect("create debugpy-wheel.lock");
        lock.lock().expect("lock debugpy-wheel.lock");
        let mut last = String::new();
        for attempt in 1..=4 {
            if present(&dir).unwrap_or(false) {
                return dir;
            }
            let got = Command::new(host_python())
                .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"])
                .args(["--only-binary=:all:", "--platform", "any", "--dest"])
                .arg(&dir)
                .arg(format!("debugpy=={}", borescope_static::DEBUGPY_VERSION))
                .env_remove("PYTHONPATH")
                .output()
                .expect("run `python3 -m pip download`");
            if !got.status.success() {
                last = String::from_utf8_lossy(&got.stderr).into_owned();
                std::thread::sleep(std::time::Duration::from_secs(attempt));
            }
        }
        assert!(present(&dir).unwrap_or(false), "cannot download the debugpy wheel into {}: {last}", dir.display());
        dir
    })
    .clone()
}
