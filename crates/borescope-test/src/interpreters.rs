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

/// The host's real Python 3 executable (not a pyenv shim), without debugpy.
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

/// The test venv's Python (host Python with debugpy and pytest).
pub fn venv_python() -> PathBuf {
    require(shared_cache().join("venv/bin/python"), "the test virtualenv")
}

/// The wrapper that runs a command inside the Debian sid root filesystem.
pub fn in_sid() -> PathBuf {
    require(shared_cache().join("sid-rootfs/usr/bin/python3.14"), "the sid rootfs (Python 3.14)");
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/in-sid")
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
