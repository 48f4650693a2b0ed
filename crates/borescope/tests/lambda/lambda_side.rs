//! The AWS side of an attach test, for real but on loopback: moto (control plane, driven with
//! boto3 by `moto_stack.py`), and one Lambda execution environment: AWS's `awslambdaric` on
//! Python 3.13 started through the managed runtime's bootstrap logic
//! (`python/tests/lambda_runtime/`), with borescope's layer (the zip `attach` publishes,
//! unpacked as `/opt`) and the function's environment as moto holds it, serving a loopback
//! Runtime API that the test drives by HTTP.

use borescope_test::moto::MotoServer;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `moto_stack.py ARGS` against `moto` and returns its stdout.
pub fn moto_stack(moto: &MotoServer, args: &[&str]) -> String {
    let python = borescope_test::moto::moto_server_bin().with_file_name("python");
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lambda/moto_stack.py"))
        .args(args)
        .envs(moto.env())
        .output()
        .expect("run moto_stack.py");
    assert!(
        out.status.success(),
        "moto_stack.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The function's configuration as moto holds it.
pub fn config(moto: &MotoServer, name: &str) -> serde_json::Value {
    serde_json::from_str(&moto_stack(moto, &["config", name])).expect("config JSON")
}

/// A running execution environment and its Runtime API.
pub struct LambdaSide {
    api: Child,
    runtimes: Vec<Child>,
    launch: Box<dyn Fn() -> Child>,
    /// `127.0.0.1:PORT` of the Runtime API.
    pub api_address: String,
    output: PathBuf,
}

impl LambdaSide {
    /// Starts one execution environment of `function` (its configuration from moto), with
    /// `deployed` as its task root (what Lambda would run without borescope).
    pub fn start(dir: &Path, function: &serde_json::Value, deployed: &Path) -> LambdaSide {
        std::fs::create_dir_all(dir).expect("dir");
        let port_file = dir.join("api.port");
        let api = Command::new(borescope_test::interpreters::host_python())
            .arg(borescope_test::interpreters::lambda_runtime_api_script())
            .arg("--port-file")
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Runtime API");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(port) = std::fs::read_to_string(&port_file)
                && !port.trim().is_empty()
            {
                break port.trim().to_string();
            }
            assert!(Instant::now() < deadline, "the Runtime API did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        let api_address = format!("127.0.0.1:{port}");

        // /opt: borescope's layer exactly as attach publishes it.
        let opt = dir.join("opt");
        let layer = borescope_lambda::aws::LayerZip::from_agent().expect("layer zip");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(layer.bytes().to_vec()))
            .expect("layer is a zip");
        zip.extract(&opt).expect("unpack the layer");
        // /var/runtime: the managed runtime's bootstrap.
        let runtime_dir = dir.join("var-runtime");
        std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
        for name in ["bootstrap", "bootstrap.py"] {
            std::fs::copy(
                repo().join("python/tests/lambda_runtime").join(name),
                runtime_dir.join(name),
            )
            .expect("copy bootstrap");
        }
        std::fs::set_permissions(
            runtime_dir.join("bootstrap"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");

        let output = dir.join("lambda.log");
        let launch = {
            let (function, deployed, opt, runtime_dir, api_address, output) = (
                function.clone(),
                deployed.to_path_buf(),
                opt.clone(),
                runtime_dir.clone(),
                api_address.clone(),
                output.clone(),
            );
            move || {
                environment(
                    &function,
                    &deployed,
                    &opt,
                    &runtime_dir,
                    &api_address,
                    &output,
                )
            }
        };
        let first = launch();
        LambdaSide {
            api,
            runtimes: vec![first],
            launch: Box::new(launch),
            api_address,
            output,
        }
    }

    /// Starts one more execution environment of the function (Lambda scales out this way).
    pub fn add_environment(&mut self) {
        self.runtimes.push((self.launch)());
    }

    /// Invokes the function with `event` (JSON text) and a timeout; returns the error type (if
    /// it failed) and the body.
    pub fn invoke(address: &str, event: &str, timeout_ms: u64) -> (Option<String>, String) {
        let url = format!("http://{address}/2015-03-31/functions/function/invocations");
        let timeout = timeout_ms.to_string();
        let response = borescope_test::http::request(
            "POST",
            &url,
            None,
            &[("X-Borescope-Timeout-Ms", &timeout)],
            Some(event.as_bytes()),
        )
        .unwrap_or_else(|e| panic!("invoke: {e}"));
        let error = response
            .headers
            .iter()
            .find(|(k, _)| k == "x-borescope-error-type")
            .map(|(_, v)| v.clone());
        (error, response.text())
    }

    /// What the execution environment logged.
    pub fn log(&self) -> String {
        let mut text = String::new();
        let _ = std::fs::File::open(&self.output).and_then(|mut f| f.read_to_string(&mut text));
        text
    }
}

/// One execution environment: the bootstrap under a Lambda-like environment with the
/// function's variables.
fn environment(
    function: &serde_json::Value,
    deployed: &Path,
    opt: &Path,
    runtime_dir: &Path,
    api_address: &str,
    output: &Path,
) -> Child {
    let name = function["FunctionName"].as_str().expect("name");
    let mut command = Command::new(runtime_dir.join("bootstrap"));
    command.env_clear();
    for (key, value) in function["Environment"]["Variables"]
        .as_object()
        .expect("variables")
    {
        command.env(key, value.as_str().expect("string"));
    }
    // The wrapper is /opt/borescope/wrapper in Lambda; here /opt is a directory of the test.
    assert_eq!(
        function["Environment"]["Variables"]["AWS_LAMBDA_EXEC_WRAPPER"],
        "/opt/borescope/wrapper"
    );
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(output)
        .expect("log");
    command
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "HOME",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
        )
        .envs(std::env::var("BORESCOPE_TEST_CACHE").map(|c| ("BORESCOPE_TEST_CACHE", c)))
        .env("AWS_LAMBDA_EXEC_WRAPPER", opt.join("borescope/wrapper"))
        .env("AWS_LAMBDA_RUNTIME_API", api_address)
        .env("_HANDLER", function["Handler"].as_str().expect("handler"))
        .env("LAMBDA_TASK_ROOT", deployed)
        .env("LAMBDA_RUNTIME_DIR", runtime_dir)
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_python3.13")
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/30/[$LATEST]test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "ASIAFUNCTIONROLE")
        .env("AWS_SECRET_ACCESS_KEY", "function-secret")
        .env("AWS_SESSION_TOKEN", "function-token")
        .env(
            "TEST_LAMBDA_PYTHON",
            borescope_test::interpreters::lambda_python(),
        )
        .env("TEST_RUNTIME_DIR", runtime_dir)
        .env("TEST_OPT", opt)
        .current_dir(deployed)
        .stdout(Stdio::from(log.try_clone().expect("fd")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start the bootstrap")
}

impl Drop for LambdaSide {
    fn drop(&mut self) {
        for child in self
            .runtimes
            .iter_mut()
            .chain(std::iter::once(&mut self.api))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
