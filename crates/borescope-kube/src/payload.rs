//! The bytes streamed into a pod: the agent package and, when the program has none, a copy of
//! debugpy, each as an uncompressed tar the in-pod program unpacks (no `tar` binary needed).

use crate::KubeError;
use std::path::Path;

/// The agent package (`borescope_agent/*.py`) under `agent/`.
pub(crate) fn agent_tar() -> Result<Vec<u8>, KubeError> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, text) in borescope_pyagent::FILES.iter().filter(|(p, _)| p.starts_with("borescope_agent/")) {
        append(&mut builder, &format!("agent/{path}"), text.as_bytes())?;
    }
    builder.into_inner().map_err(|e| KubeError::Pod(format!("cannot pack the agent: {e}")))
}

/// The `debugpy` package found in `dir`, without what an in-process listener never loads, as a
/// gzip'd tar; made once per directory and kept (it is the same for every attach).
pub(crate) fn debugpy_tar(dir: &Path) -> Result<std::sync::Arc<Vec<u8>>, KubeError> {
    static MADE: std::sync::Mutex<Option<(std::path::PathBuf, std::sync::Arc<Vec<u8>>)>> = std::sync::Mutex::new(None);
    if let Ok(made) = MADE.lock()
        && let Some((made_from, bytes)) = made.as_ref()
        && made_from == dir
    {
        return Ok(bytes.clone());
    }
    let plain = debugpy_plain_tar(dir)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &plain).map_err(|e| KubeError::Pod(format!("cannot compress debugpy: {e}")))?;
    let bytes = std::sync::Arc::new(encoder.finish().map_err(|e| KubeError::Pod(format!("cannot compress debugpy: {e}")))?);
    if let Ok(mut made) = MADE.lock() {
        *made = Some((dir.to_path_buf(), bytes.clone()));
    }
    Ok(bytes)
}

fn debugpy_plain_tar(dir: &Path) -> Result<Vec<u8>, KubeError> {
    let root = dir.join("debugpy");
    let mut builder = tar::Builder::new(Vec::new());
    let mut stack = vec![root.clone()];
    while let Some(current) = stack.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| KubeError::Pod(format!("cannot read {}: {e}", current.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !borescope_pyagent::jobs::debugpy_part_needed_in_process(&path) {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().to_string();
                let bytes = std::fs::read(&path).map_err(|e| KubeError::Pod(format!("cannot read {}: {e}", path.display())))?;
                append(&mut builder, &relative, &bytes)?;
            }
        }
    }
    builder.into_inner().map_err(|e| KubeError::Pod(format!("cannot pack debugpy: {e}")))
}

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, bytes: &[u8]) -> Result<(), KubeError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, path, bytes)
        .map_err(|e| KubeError::Pod(format!("cannot pack {path}: {e}")))
}

/// The files of a gzip'd tar (the program's sources brought back), as (path, bytes).
pub(crate) fn unpack_sources(gzipped: &[u8], into: &Path) -> Result<usize, KubeError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gzipped));
    let mut count = 0;
    let entries = archive.entries().map_err(|e| KubeError::Pod(format!("bad sources archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| KubeError::Pod(format!("bad sources archive: {e}")))?;
        // `unpack_in` refuses names that would leave `into`.
        if entry.unpack_in(into).map_err(|e| KubeError::Pod(format!("cannot unpack sources: {e}")))? {
            count += 1;
        }
    }
    Ok(count)
}
