//! Telling the user's frames from library, runtime and debugger frames.
//!
//! One classifier serves every backend: frames reported by the Python agent, by debugpy and by
//! V8. It is fed the interpreter's own standard-library directories when the agent reports them
//! (`hello.runtime_dirs`), and falls back to path patterns otherwise.

use borescope_model::FrameKind;

/// Classifies frames by their file path.
#[derive(Debug, Clone, Default)]
pub struct FrameClassifier {
    runtime_dirs: Vec<String>,
    debugger_dirs: Vec<String>,
}

impl FrameClassifier {
    /// A classifier that knows these standard-library and debugger directories.
    pub fn new(runtime_dirs: Vec<String>, debugger_dirs: Vec<String>) -> FrameClassifier {
        FrameClassifier {
            runtime_dirs,
            debugger_dirs,
        }
    }

    /// Adds directories (from a later agent hello).
    pub fn learn(&mut self, runtime_dirs: &[String], debugger_dir: Option<&str>) {
        for dir in runtime_dirs {
            if !self.runtime_dirs.contains(dir) {
                self.runtime_dirs.push(dir.clone());
            }
        }
        if let Some(dir) = debugger_dir
            && !self.debugger_dirs.iter().any(|d| d == dir) {
                self.debugger_dirs.push(dir.to_string());
            }
    }

    /// The kind of code in `file` (`None` = no source).
    pub fn classify(&self, file: Option<&str>) -> FrameKind {
        let Some(file) = file else {
            return FrameKind::Runtime;
        };
        if file.starts_with('<') {
            return if matches!(file, "<string>" | "<stdin>") {
                FrameKind::User
            } else {
                FrameKind::Runtime
            };
        }
        if file.starts_with("node:") || file.starts_with("internal/") {
            return FrameKind::Runtime;
        }
        if self.debugger_dirs.iter().any(|d| under(file, d))
            || ["/borescope_agent/", "/debugpy/", "/_pydevd_bundle/", "/pydevd"]
                .iter()
                .any(|m| file.contains(m))
        {
            return FrameKind::Debugger;
        }
        if ["/site-packages/", "/dist-packages/", "/node_modules/"]
            .iter()
            .any(|m| file.contains(m))
        {
            return FrameKind::Library;
        }
        if self.runtime_dirs.iter().any(|d| under(file, d)) || looks_like_stdlib(file) {
            return FrameKind::Runtime;
        }
        FrameKind::User
    }
}

fn under(file: &str, dir: &str) -> bool {
    file.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') || dir.ends_with('/'))
}

/// `/usr/lib/python3.12/...` and similar: a `lib/pythonX.Y/` directory.
fn looks_like_stdlib(file: &str) -> bool {
    file.split('/')
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| {
            w[0] == "lib"
                && w[1]
                    .strip_prefix("python3.")
                    .is_some_and(|v| !v.is_empty() && v.trim_end_matches(['t', 'd']).chars().all(|c| c.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_paths() {
        let c = FrameClassifier::new(vec!["/opt/py/lib/python3.11".into()], vec![]);
        assert_eq!(c.classify(Some("/home/u/app.py")), FrameKind::User);
        assert_eq!(c.classify(Some("/opt/py/lib/python3.11/runpy.py")), FrameKind::Runtime);
        assert_eq!(c.classify(Some("/usr/lib/python3.14/asyncio/base_events.py")), FrameKind::Runtime);
        assert_eq!(c.classify(Some("/v/lib/python3.11/site-packages/_pytest/main.py")), FrameKind::Library);
        assert_eq!(c.classify(Some("<frozen runpy>")), FrameKind::Runtime);
        assert_eq!(c.classify(Some("<string>")), FrameKind::User);
        assert_eq!(c.classify(Some("node:internal/modules/cjs/loader")), FrameKind::Runtime);
        assert_eq!(c.classify(Some("/app/node_modules/express/index.js")), FrameKind::Library);
        assert_eq!(c.classify(Some("/c/agent/borescope_agent/probe.py")), FrameKind::Debugger);
        assert_eq!(c.classify(Some("/opt/py/lib/python3.11x/a.py")), FrameKind::User);
    }
}
