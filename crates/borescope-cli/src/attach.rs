//! Arguments of the commands that work on running processes: `ps`, `attach`, `exec`.

use crate::ExceptionsArg;
use clap::Args;
use std::path::PathBuf;

/// `borescope ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Only processes whose command line contains this text.
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// Only processes listening on this TCP port.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Seconds between the two CPU samples (0 skips CPU use).
    #[arg(long, value_name = "SECS", default_value_t = 0.2)]
    pub interval: f64,
}

/// Which thread runs injected code.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Run borescope's code in this Python thread (its thread id as the process sees it)
    /// instead of the main thread; useful when the main thread is blocked (Python 3.14+:
    /// older Pythons run borescope's code in the main thread only).
    #[arg(long, value_name = "TID")]
    pub thread: Option<u64>,
    /// Seconds the process may take to pick up borescope's code (it does so between
    /// bytecodes; a sleeping or blocked thread never does).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
}

/// Where Kubernetes targets (`svc/NAME`, `pod/NAME`) are looked for.
#[derive(Debug, Args, Clone, Default)]
pub struct KubeArgs {
    /// Namespace of `svc/NAME` or `pod/NAME` (default: the kubeconfig context's).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// kubeconfig context to use (default: the current one).
    #[arg(long, value_name = "CTX")]
    pub context: Option<String>,
}

/// `borescope pods`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").args(["service", "selector"]))]
pub struct PodsArgs {
    /// Only the pods behind this Service (Knative services and ExternalName services too).
    #[arg(short = 's', long, value_name = "SERVICE")]
    pub service: Option<String>,
    /// Only pods matching this label selector (e.g. `app=web`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Pods of every namespace.
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Seconds between the two CPU samples taken in each container.
    #[arg(long, value_name = "SECS", default_value_t = 0.2)]
    pub interval: f64,
    /// Namespace and context.
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `borescope attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// A process id (`borescope ps` lists them), or HOST:PORT (`:PORT` for 127.0.0.1) of a
    /// debug server already listening: debugpy (`python -m debugpy --listen PORT app.py`,
    /// `debugpy.listen()`) or Node (`node --inspect=PORT app.js`), here, in a container or on
    /// another machine; or a Kubernetes target: `svc/NAME` (a ready pod behind the Service)
    /// or `pod/NAME[:PID]`, reached through the Kubernetes API (no kubectl, nothing installed
    /// in the image).
    #[arg(value_name = "PID|HOST:PORT|svc/NAME|pod/NAME[:PID]")]
    pub target: String,
    /// Breakpoint to set at once (repeatable); `borescope continue` then waits for a hit.
    #[arg(long = "break", value_name = "FILE:LINE")]
    pub breakpoints: Vec<String>,
    /// Which exceptions stop the program.
    #[arg(long, value_enum, default_value_t = ExceptionsArg::Uncaught)]
    pub exceptions: ExceptionsArg,
    /// Only start debugpy in the process and print a VS Code `launch.json` configuration to
    /// attach an editor; borescope does not connect. With a Kubernetes target, borescope
    /// holds a port-forward on 127.0.0.1:LOCAL_PORT (any free port when not given) until
    /// interrupted, then detaches.
    #[arg(long, value_name = "LOCAL_PORT", num_args = 0..=1)]
    pub listen_only: Option<Option<u16>>,
    /// Never ship borescope's copy of debugpy into a process that lacks one.
    #[arg(long)]
    pub no_ship_debugpy: bool,
    /// With HOST:PORT: a local directory and the directory the program sees it as, e.g.
    /// `--path-map .=/app` for a container that mounts this directory at /app (repeatable).
    /// Breakpoints name local files; reports show local paths.
    #[arg(long = "path-map", value_name = "LOCAL=REMOTE")]
    pub path_maps: Vec<String>,
    /// Thread and timeout.
    #[command(flatten)]
    pub inject: InjectArgs,
    /// Namespace and context of a Kubernetes target.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// With a Kubernetes target: the pod's container to look in (default: every container).
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// With a Kubernetes target: when the pod is replaced (rollout, crash, scale from zero),
    /// wait for its successor and attach again with the session's breakpoints (its output says
    /// so).
    #[arg(long)]
    pub follow: bool,
    /// The session.
    #[command(flatten)]
    pub session: crate::SessionArg,
}

/// `borescope exec`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["script", "code"]))]
pub struct ExecArgs {
    /// The process id, or `pod/NAME[:PID]` for a process in a Kubernetes pod.
    #[arg(value_name = "PID|pod/NAME[:PID]")]
    pub target: String,
    /// A Python file to run inside it (read here; run like `-c`).
    #[arg(value_name = "SCRIPT.py")]
    pub script: Option<PathBuf>,
    /// Python code to run inside it; names it does not assign are read from the program's
    /// `__main__` globals.
    #[arg(short = 'c', value_name = "CODE")]
    pub code: Option<String>,
    /// Seconds the code may run before borescope stops waiting (it keeps running).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub run_timeout: f64,
    /// Thread and pick-up timeout.
    #[command(flatten)]
    pub inject: InjectArgs,
    /// Namespace and context of a pod.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// With a pod: its container to look in (`-c` is the code here).
    #[arg(long, value_name = "CONTAINER")]
    pub container: Option<String>,
}
