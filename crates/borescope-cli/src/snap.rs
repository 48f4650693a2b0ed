//! Arguments of the live-snapshot commands: `borescope snap ...` (probes, snapshots, agents and
//! keys on a `borescope server`) and `borescope run` (start a service with the agent).

use crate::InjectArgs;
use borescope_static::{EnvVars, DEFAULT_SNAPSHOT_SERVER};
use clap::{Args, Subcommand};

const SNAP_AFTER_HELP: &str = "\
A probe asks every running instance of a service to record a snapshot (locals, arguments, \
stack, --capture values) when a line runs, without stopping anything; the snapshots are stored \
on the borescope server. Conditions and expressions are a safe subset of Python: names, \
attributes, subscripts, literals, comparisons, and/or/not, arithmetic, and calls to \
len/str/int/float/bool/isinstance only.

Quick start:
  borescope server                                   keep running; prints the admin token once
  export BORESCOPE_TOKEN=...                         that token
  borescope snap key add --service api               an agent key for the service
  borescope run --key bsk_... --service api -- python3 app.py
  borescope snap add orders/views.py:88 --service api --if 'order.total > 100'
  borescope snap hits 1 --follow                     snapshots as they arrive";

/// `borescope snap`.
#[derive(Debug, Args)]
#[command(after_help = SNAP_AFTER_HELP)]
pub struct SnapArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SnapCommand,
    /// Which server.
    #[command(flatten)]
    pub server: ServerConnectionArgs,
}

/// The server a command talks to.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct ServerConnectionArgs {
    /// The borescope server's URL (plain http; for a remote server use a tunnel to loopback).
    /// Replicas of one server: `URL1,URL2` (commands use the first that answers; `snap attach`
    /// gives the agent all of them to fail over between).
    #[arg(long, global = true, value_name = "URL", env = EnvVars::BORESCOPE_SERVER, default_value = DEFAULT_SNAPSHOT_SERVER)]
    pub server: String,
    /// The server's admin token (`borescope server` prints it at first start).
    #[arg(long, global = true, value_name = "TOKEN", env = EnvVars::BORESCOPE_TOKEN, hide_env_values = true)]
    pub token: Option<String>,
}

/// Every `snap` subcommand.
#[derive(Debug, Subcommand)]
pub enum SnapCommand {
    /// Add a probe: when FILE:LINE runs in any instance of the service, record a snapshot
    /// (locals, stack, --capture values) or, with --log, a message. Nothing stops; prints how
    /// each running instance took it (installed, or why not).
    Add(SnapAddArgs),
    /// List probes (active and disabled; --all also ended ones).
    List(SnapListArgs),
    /// Show a probe's settings and each instance's report on it.
    Show(ProbeId),
    /// Delete a probe; instances disarm it.
    Rm(ProbeId),
    /// Turn a probe off without deleting it; instances disarm it.
    Disable(ProbeId),
    /// Turn a disabled probe back on.
    Enable(ProbeId),
    /// List the processes running the agent: service, host, pid, Python, last seen.
    Agents(SnapAgentsArgs),
    /// Agent keys (one per service): add, list, rm.
    Key(SnapKeyArgs),
    /// Print snapshots (each like a probe's stop report: source, stack, locals); --follow
    /// prints new ones as they arrive.
    Hits(SnapHitsArgs),
    /// Load the agent into a running Python 3.9+ process (no restart; PEP 768 on 3.14, ptrace
    /// on 3.9–3.13), or take it out again with --detach.
    Attach(SnapAttachArgs),
    /// Exception snapshots for a service: `on` makes its instances record the locals of every
    /// frame of an exception that escapes a request handler or a thread, or is logged with its
    /// traceback (deduplicated: one per failure per minute, the rest counted); `off` stops
    /// them; without on|off it shows the setting. `snap hits --kind exception` prints them.
    Exceptions(SnapExceptionsArgs),
}

/// `snap exceptions`.
#[derive(Debug, Args)]
pub struct SnapExceptionsArgs {
    /// The service.
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// `on` or `off`; without it, the current setting is shown.
    #[arg(value_name = "on|off")]
    pub state: Option<String>,
}

/// `snap add`.
#[derive(Debug, Args)]
pub struct SnapAddArgs {
    /// The line: FILE:LINE, the file as the service's code names it (`orders/views.py`
    /// matches any loaded file ending in that path) or absolute.
    #[arg(value_name = "FILE:LINE")]
    pub location: String,
    /// The service whose instances arm the probe (the name they run with).
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// Only instances of this environment (`prod`, `staging`).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only record when this safe expression is true (e.g. `order.total > 100`).
    #[arg(long = "if", value_name = "EXPR")]
    pub condition: Option<String>,
    /// A safe expression to record with each snapshot (repeatable).
    #[arg(long = "capture", value_name = "EXPR")]
    pub captures: Vec<String>,
    /// Record only this message (`{expr}` parts interpolated), not a snapshot: a logpoint.
    #[arg(long, value_name = "TEMPLATE")]
    pub log: Option<String>,
    /// Stop after this many snapshots, all instances together.
    #[arg(long, value_name = "N")]
    pub max_hits: Option<u32>,
    /// Snapshots per second per instance (default 1; 100 for logpoints).
    #[arg(long, value_name = "PER_SEC", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// How long the probe lives: 30m, 2h (default 1h, at most 24h).
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Capture the locals of this many frames from the innermost (default 1, at most 10).
    #[arg(long, value_name = "N")]
    pub frames: Option<u32>,
    /// Seconds to wait for every running instance to report on the probe (0: do not wait).
    #[arg(long, value_name = "SECS", default_value_t = 3.0, allow_negative_numbers = true)]
    pub wait: f64,
}

/// `snap list`.
#[derive(Debug, Args)]
pub struct SnapListArgs {
    /// Only this service's probes.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Also probes that ended (expired, or done after --max-hits).
    #[arg(long)]
    pub all: bool,
}

/// A probe id (`snap list` shows them).
#[derive(Debug, Args)]
pub struct ProbeId {
    /// The probe's id.
    #[arg(value_name = "ID")]
    pub id: i64,
}

/// `snap agents`.
#[derive(Debug, Args)]
pub struct SnapAgentsArgs {
    /// Only this service's instances.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
}

/// `snap key`.
#[derive(Debug, Args)]
pub struct SnapKeyArgs {
    /// What to do with keys.
    #[command(subcommand)]
    pub command: SnapKeyCommand,
}

/// `snap key add|list|rm`.
#[derive(Debug, Subcommand)]
pub enum SnapKeyCommand {
    /// Make an agent key for a service; it is printed this once (the server keeps a hash).
    Add {
        /// The one service the key may read probes of and send snapshots for.
        #[arg(long, value_name = "NAME")]
        service: String,
    },
    /// List keys (ids, services, first characters; never the keys).
    List,
    /// Delete a key; agents using it are refused from then on.
    Rm {
        /// The key's id (`snap key list` shows them).
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// `snap hits`.
#[derive(Debug, Args)]
pub struct SnapHitsArgs {
    /// Only this probe's snapshots.
    #[arg(value_name = "ID")]
    pub probe: Option<i64>,
    /// Only this service's snapshots.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Only `probe` snapshots or only `exception` snapshots (both by default).
    #[arg(long, value_name = "probe|exception")]
    pub kind: Option<String>,
    /// Keep printing new snapshots as they arrive (Ctrl-C ends); without --since, only ones
    /// taken from now on.
    #[arg(long)]
    pub follow: bool,
    /// At most this many (default 10; with --follow, stop after this many).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Only snapshots taken in this last span: 10m, 2h.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Only snapshots after this cursor (the id of the last one you saw).
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<i64>,
}

/// `snap attach`.
#[derive(Debug, Args)]
pub struct SnapAttachArgs {
    /// The process id (`borescope ps` lists them), or `pod/NAME[:PID]` (`svc/NAME`) for a
    /// process in Kubernetes (`borescope pods` lists them).
    #[arg(value_name = "PID|pod/NAME[:PID]")]
    pub target: String,
    /// The agent key (`bsk_...`) for --service.
    #[arg(long, value_name = "KEY", env = EnvVars::BORESCOPE_AGENT_KEY, hide_env_values = true, conflicts_with = "detach")]
    pub key: Option<String>,
    /// The service the process reports as.
    #[arg(long, value_name = "NAME", required_unless_present = "detach", conflicts_with = "detach")]
    pub service: Option<String>,
    /// Its environment (`prod`, `staging`).
    #[arg(long, value_name = "ENV", conflicts_with = "detach")]
    pub env: Option<String>,
    /// Take the agent out: its probes disarmed, its thread stopped, its modules forgotten.
    #[arg(long)]
    pub detach: bool,
    /// Thread and pick-up timeout.
    #[command(flatten)]
    pub inject: InjectArgs,
    /// Namespace and context of a Kubernetes target.
    #[command(flatten)]
    pub kube: crate::KubeArgs,
    /// With a Kubernetes target: the pod's container (default: every container is looked at).
    #[arg(long, value_name = "CONTAINER")]
    pub container: Option<String>,
}

/// `borescope run`.
#[derive(Debug, Args)]
pub struct AgentRunArgs {
    /// The program, after `--`, e.g. `-- python3 app.py` or `-- gunicorn -w 4 app:app`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// The borescope server the agent reports to (plain http). Replicas of one server:
    /// `URL1,URL2`; the agent moves to the next when one fails and sends again what was not
    /// acknowledged.
    #[arg(long, value_name = "URL", env = EnvVars::BORESCOPE_SERVER, default_value = DEFAULT_SNAPSHOT_SERVER)]
    pub server: String,
    /// The agent key (`bsk_...`, from `borescope snap key add`).
    #[arg(long, value_name = "KEY", env = EnvVars::BORESCOPE_AGENT_KEY, hide_env_values = true)]
    pub key: Option<String>,
    /// The service this program is an instance of.
    #[arg(long, value_name = "NAME")]
    pub service: String,
    /// Its environment (`prod`, `staging`); probes with --env only reach matching instances.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
}
