//! What the agent inside a service is told: which server, which key, which service (and
//! environment). `borescope run` hands it over in the program's environment (the agent is
//! loaded at interpreter start like a probe's, through `sitecustomize`); `snap attach` as a
//! PEP 768 job (`snapshots_start`, and `snapshots_stop` to take it out again).

use crate::{ServerUrl, SnapError};
use borescope_static::EnvVars;
use serde_json::{json, Value};
use std::path::Path;

/// Where and as what an agent reports, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentJob {
    /// One server, or several replicas the agent fails over between (in this order).
    servers: Vec<ServerUrl>,
    key: String,
    service: String,
    env: Option<String>,
}

impl AgentJob {
    /// Checks the four settings: `http://` URLs (one, or replicas: `URL1,URL2`), an agent key
    /// (`bsk_...`), names.
    pub fn new(server: &str, key: Option<&str>, service: &str, env: Option<&str>) -> Result<AgentJob, SnapError> {
        let servers = ServerUrl::parse_list(server)?;
        let key = key.map(str::trim).filter(|k| !k.is_empty()).ok_or_else(|| {
            SnapError::input(format!(
                "the agent needs an agent key: pass --key KEY or set {} (`borescope snap key add --service NAME` makes one)",
                EnvVars::BORESCOPE_AGENT_KEY
            ))
        })?;
        let well_formed = key.strip_prefix("bsk_").is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()));
        if !well_formed {
            return Err(SnapError::input(
                "--key is not an agent key: agent keys start with `bsk_` (`borescope snap key add --service NAME` makes one; the admin token is not one)",
            ));
        }
        crate::input::check_name("--service", service)?;
        if let Some(env) = env {
            crate::input::check_name("--env", env)?;
        }
        Ok(AgentJob { servers, key: key.to_string(), service: service.to_string(), env: env.map(str::to_string) })
    }

    /// The servers the agent reports to, in the order it tries them.
    pub fn servers(&self) -> &[ServerUrl] {
        &self.servers
    }

    /// The servers as the agent is given them: `URL` or `URL1,URL2`.
    pub fn server_list(&self) -> String {
        self.servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }

    /// The service it registers as.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The environment it registers with.
    pub fn env(&self) -> Option<&str> {
        self.env.as_deref()
    }

    fn job(&self, kind: &str) -> Value {
        json!({
            "kind": kind,
            "server": self.server_list(),
            "key": self.key,
            "service": self.service,
            "env": self.env,
        })
    }

    /// The job `borescope run` gives every Python process of the program (`BORESCOPE_AGENT_JOB`).
    pub fn run_job(&self) -> Value {
        self.job("snapshots")
    }

    /// The PEP 768 job that starts the agent in running process `pid` (`snap attach PID`).
    /// `pid` is the process id as borescope (the host) sees it; inside a PID namespace the
    /// process sees another one (often 1), and the host's is the one `ps`, `exec` and
    /// `snap attach` take, so the agent can register with it.
    pub fn start_job(&self, pid: u32) -> Value {
        let mut job = self.job("snapshots_start");
        job["pid"] = json!(pid);
        job
    }

    /// The environment `borescope run` adds to the program's: the agent unpacked in `agent_dir`
    /// first on `PYTHONPATH` (before `existing_path`, the program's own), and [`Self::run_job`].
    pub fn run_env(&self, agent_dir: &Path, existing_path: Option<&str>) -> Vec<(String, String)> {
        borescope_pyagent::boot_env(agent_dir, &self.run_job().to_string(), existing_path)
    }
}

/// The PEP 768 job that takes the agent out of a process again (`snap attach PID --detach`):
/// the agent says goodbye to the server, frees its monitoring tool id, stops its thread,
/// removes its import hook, restores rewritten code, and forgets its modules.
pub fn stop_job() -> Value {
    json!({"kind": "snapshots_stop"})
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "bsk_3fA9x0";

    #[test]
    fn the_jobs_carry_server_key_service_and_env() {
        let job = AgentJob::new("http://127.0.0.1:7300/", Some(KEY), "api", Some("prod")).unwrap();
        assert_eq!(
            job.run_job(),
            json!({"kind": "snapshots", "server": "http://127.0.0.1:7300", "key": KEY, "service": "api", "env": "prod"})
        );
        assert_eq!(job.start_job(42)["kind"], "snapshots_start");
        assert_eq!(job.start_job(42)["pid"], 42);
        assert_eq!(AgentJob::new("http://h:1", Some(KEY), "api", None).unwrap().run_job()["env"], Value::Null);
        let replicas = AgentJob::new("http://a:7300, http://b:7300", Some(KEY), "api", None).unwrap();
        assert_eq!(replicas.run_job()["server"], "http://a:7300,http://b:7300");
        assert_eq!(replicas.servers().len(), 2);
        assert_eq!(stop_job(), json!({"kind": "snapshots_stop"}));
    }

    #[test]
    fn run_puts_the_agent_first_on_the_python_path() {
        let job = AgentJob::new("http://127.0.0.1:7300", Some(KEY), "api", None).unwrap();
        let env = job.run_env(Path::new("/cache/agent/1"), Some("/app"));
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(get("PYTHONPATH"), "/cache/agent/1:/app");
        let job: Value = serde_json::from_str(&get("BORESCOPE_AGENT_JOB")).unwrap();
        assert_eq!(job["kind"], "snapshots");
    }

    #[test]
    fn missing_or_malformed_settings_are_refused() {
        let cases = [
            (AgentJob::new("http://h:1", None, "api", None), "pass --key KEY or set BORESCOPE_AGENT_KEY"),
            (AgentJob::new("http://h:1", Some("test-admin-token"), "api", None), "--key is not an agent key"),
            (AgentJob::new("https://h:1", Some(KEY), "api", None), "https is not supported yet"),
            (AgentJob::new("http://h:1", Some(KEY), "", None), "--service is empty"),
        ];
        for (result, expected) in cases {
            let error = result.unwrap_err();
            assert!(error.is_input_error());
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
