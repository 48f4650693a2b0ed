//! Other builds' daemons in the same runtime directory, for `sessions` to mention: which of
//! them listen and hold sessions, with their pid and executable. They are only looked at (a
//! connection that sends nothing shows one listens); no request or signal ever goes to them.

use crate::runtime::RuntimePaths;
use borescope_model::OtherBuild;
use std::path::Path;
use std::time::Duration;
use tokio::net::UnixStream;

/// How long a connection to another build's socket may take before it counts as not listening.
const CONNECT_LIMIT: Duration = Duration::from_millis(500);

/// Every other build whose daemon listens and has session records, by build id.
pub async fn other_builds_with_sessions(paths: &RuntimePaths) -> Vec<OtherBuild> {
    let mut found = Vec::new();
    for other in paths.other_builds() {
        let sessions = session_names(&other.sessions());
        if sessions.is_empty() || !listening(&other.socket()).await {
            // No sessions, or a daemon that died: its next start reports its records.
            continue;
        }
        let pid = std::fs::read_to_string(other.pid()).ok().and_then(|text| text.trim().parse::<u32>().ok());
        let executable = pid
            .and_then(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok())
            .map(|path| path.display().to_string());
        found.push(OtherBuild {
            build: other.build,
            pid,
            executable,
            sessions,
        });
    }
    found
}

/// Names of the session records in `dir` (`<name>.json`), sorted.
fn session_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let stem = name.strip_suffix(".json")?;
            (!stem.is_empty() && !stem.starts_with('.')).then(|| stem.to_string())
        })
        .collect();
    names.sort();
    names
}

async fn listening(socket: &Path) -> bool {
    matches!(tokio::time::timeout(CONNECT_LIMIT, UnixStream::connect(socket)).await, Ok(Ok(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_listening_builds_with_sessions_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rt");
        let mine = RuntimePaths::for_build(dir.clone(), "mine".into());
        mine.ensure().unwrap();
        let live = RuntimePaths::for_build(dir.clone(), "live".into());
        let dead = RuntimePaths::for_build(dir.clone(), "dead".into());
        let idle = RuntimePaths::for_build(dir.clone(), "idle".into());
        for other in [&live, &dead, &idle] {
            other.ensure().unwrap();
        }
        for (paths, name) in [(&live, "two"), (&live, "one"), (&dead, "lost")] {
            std::fs::write(paths.sessions().join(format!("{name}.json")), "{}").unwrap();
        }
        std::fs::write(live.sessions().join(".half.tmp"), "").unwrap();
        std::fs::write(live.pid(), std::process::id().to_string()).unwrap();
        let _live_socket = tokio::net::UnixListener::bind(live.socket()).unwrap();
        let _idle_socket = tokio::net::UnixListener::bind(idle.socket()).unwrap();
        let found = other_builds_with_sessions(&mine).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].build, "live");
        assert_eq!(found[0].sessions, ["one", "two"]);
        assert_eq!(found[0].pid, Some(std::process::id()));
        let exe = std::env::current_exe().unwrap().display().to_string();
        assert_eq!(found[0].executable.as_deref(), Some(exe.as_str()));
    }
}
