//! Lambda live debugging: `lambda invoke` on the SAM example (a real Python worker, plain and
//! under a session), and `lambda attach` end to end: a real moto server for the AWS control
//! plane, a real mosquitto broker for the relay, AWS's own runtime interface client
//! (`awslambdaric`, Python 3.13) running the layer's wrapper and shim against a loopback Runtime
//! API, and the developer's side under a borescope session.

mod attach;
mod invoke;
mod lambda_side;

use borescope_test::TestContext;
use std::path::{Path, PathBuf};

/// A test context for the borescope binary.
pub fn ctx() -> TestContext {
    TestContext::new(env!("CARGO_BIN_EXE_borescope"))
}

/// The repository's `examples/lambda`, copied into the test's work directory.
pub fn example(ctx: &TestContext) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lambda");
    let dest = ctx.work().join("orders-api");
    copy_dir(&source, &dest);
    dest
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read example dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The test virtualenv's Python (it has debugpy, for sessions).
pub fn venv_python() -> String {
    borescope_test::interpreters::venv_python().display().to_string()
}

/// `ctx.filter` plus request ids and durations.
pub fn filtered(ctx: &TestContext, text: &str) -> String {
    let text = ctx.filter(text);
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").expect("regex");
    let ms = regex::Regex::new(r#""duration_ms": \d+"#).expect("regex");
    ms.replace_all(&uuid.replace_all(&text, "[REQUEST_ID]"), r#""duration_ms": [MS]"#).into_owned()
}
