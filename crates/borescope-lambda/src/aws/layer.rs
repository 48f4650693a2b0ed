//! borescope's Lambda layer: the zip (the agent package under `python/`, the wrapper at
//! `borescope/wrapper`, byte-for-byte reproducible so its sha256 names its content) and its
//! publication as `borescope-lambda`, reusing a version whose description carries the same
//! hash.

use super::account::Aws;
use super::error::{AwsError, sdk};
use super::report::{Progress, ProgressFn};
use super::retry::retrying;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The layer's name.
pub const LAYER_NAME: &str = "borescope-lambda";
/// The runtimes the layer declares.
pub const COMPATIBLE_RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
];
/// Where the agent keeps the wrapper's text (embedded by borescope-pyagent when present).
pub const WRAPPER_SOURCE: &str = "borescope_agent/lambda_wrapper.sh";
/// The wrapper's path inside the zip (`/opt/borescope/wrapper` in the function).
pub const WRAPPER_ZIP_PATH: &str = "borescope/wrapper";
/// Agent files that never go into the layer (the Kubernetes exec program and the modules it
/// loads).
const EXCLUDED: &[&str] = &["borescope_agent/pod.py", "borescope_agent/pod_job.py", "borescope_agent/pod_ptrace.py"];

/// A built layer zip.
#[derive(Clone)]
pub struct LayerZip {
    bytes: Vec<u8>,
    sha256: String,
}

impl std::fmt::Debug for LayerZip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerZip").field("bytes", &self.bytes.len()).field("sha256", &self.sha256).finish()
    }
}

impl LayerZip {
    /// The layer from the embedded agent, with the wrapper the agent carries
    /// ([`WRAPPER_SOURCE`]); an error when this build's agent has none.
    pub fn from_agent() -> Result<LayerZip, AwsError> {
        let wrapper = borescope_pyagent::FILES
            .iter()
            .find(|(path, _)| *path == WRAPPER_SOURCE)
            .map(|(_, text)| *text)
            .ok_or_else(|| {
                AwsError::Layer(format!("this build's agent has no {WRAPPER_SOURCE}"))
            })?;
        LayerZip::build(wrapper)
    }

    /// The layer from the embedded agent with `wrapper` as `borescope/wrapper` (mode 0755).
    pub fn build(wrapper: &str) -> Result<LayerZip, AwsError> {
        let mut files: Vec<(String, &str, u32)> = borescope_pyagent::FILES
            .iter()
            .filter(|(path, _)| path.starts_with("borescope_agent/") && *path != WRAPPER_SOURCE)
            .filter(|(path, _)| !EXCLUDED.contains(path))
            .map(|(path, text)| (format!("python/{path}"), *text, 0o644))
            .collect();
        files.push((WRAPPER_ZIP_PATH.to_string(), wrapper, 0o755));
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let bytes = zip_files(&files).map_err(|e| AwsError::Layer(e.to_string()))?;
        let sha256 = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(LayerZip { bytes, sha256 })
    }

    /// The zip's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The zip's sha256, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The layer version description: names borescope's version and the content hash.
    pub fn description(&self) -> String {
        format!(
            "borescope {} sha256:{}",
            env!("CARGO_PKG_VERSION"),
            self.sha256
        )
    }
}

fn zip_files(files: &[(String, &str, u32)]) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (path, text, mode) in files {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(*mode);
        zip.start_file(path.as_str(), options)?;
        zip.write_all(text.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The layer version ARN to add: an existing version with this content, else a new one.
pub(crate) async fn ensure(
    aws: &Aws,
    layer: &LayerZip,
    progress: &mut ProgressFn<'_>,
) -> Result<String, AwsError> {
    if let Some(arn) = find(aws, layer).await? {
        progress(Progress::Layer {
            arn: arn.clone(),
            reused: true,
        });
        return Ok(arn);
    }
    let resource = format!("layer {LAYER_NAME}");
    let out = retrying(progress, || async {
        aws.lambda
            .publish_layer_version()
            .layer_name(LAYER_NAME)
            .description(layer.description())
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_smithy_types::Blob::new(layer.bytes.clone()))
                    .build(),
            )
            .set_compatible_runtimes(Some(
                COMPATIBLE_RUNTIMES
                    .iter()
                    .map(|r| aws_sdk_lambda::types::Runtime::from(*r))
                    .collect(),
            ))
            .compatible_architectures(aws_sdk_lambda::types::Architecture::X8664)
            .compatible_architectures(aws_sdk_lambda::types::Architecture::Arm64)
            .send()
            .await
            .map_err(|e| sdk(e, "lambda:PublishLayerVersion", resource.clone()))
    })
    .await?;
    let arn = out.layer_version_arn().unwrap_or_default().to_string();
    tracing::debug!(%arn, "published the borescope layer");
    progress(Progress::Layer {
        arn: arn.clone(),
        reused: false,
    });
    Ok(arn)
}

/// An existing version of [`LAYER_NAME`] whose description carries this zip's hash.
async fn find(aws: &Aws, layer: &LayerZip) -> Result<Option<String>, AwsError> {
    let needle = format!("sha256:{}", layer.sha256);
    let mut pages = aws
        .lambda
        .list_layer_versions()
        .layer_name(LAYER_NAME)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let err = sdk(e, "lambda:ListLayerVersions", format!("layer {LAYER_NAME}"));
                if matches!(err, AwsError::NotFound { .. }) {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        for version in page.layer_versions() {
            if version
                .description()
                .is_some_and(|d| d.split_whitespace().any(|w| w == needle))
            {
                return Ok(version.layer_version_arn().map(str::to_string));
            }
        }
    }
    Ok(None)
}

/// True when `arn` is a version of borescope's layer.
pub(crate) fn is_ours(arn: &str) -> bool {
    arn.split(':').nth(6) == Some(LAYER_NAME) && arn.split(':').nth(5) == Some("layer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_zip_is_reproducible_and_laid_out_for_opt() {
        let a = LayerZip::build("#!/bin/sh\nexec \"$@\"\n").expect("builds");
        let b = LayerZip::build("#!/bin/sh\nexec \"$@\"\n").expect("builds");
        assert_eq!(a.sha256(), b.sha256());
        assert_ne!(
            a.sha256(),
            LayerZip::build("#!/bin/sh\n").expect("builds").sha256()
        );
        let mut archive = zip::ZipArchive::new(Cursor::new(a.bytes().to_vec())).expect("a zip");
        let names: Vec<String> = archive.file_names().map(str::to_string).collect();
        assert!(
            names.contains(&"python/borescope_agent/__init__.py".to_string()),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .all(|n| n == WRAPPER_ZIP_PATH || n.starts_with("python/borescope_agent/")),
            "{names:?}"
        );
        assert!(
            !names
                .iter()
                .any(|n| n.contains("/pod") || n.ends_with("sitecustomize.py")),
            "{names:?}"
        );
        let mut wrapper = archive.by_name(WRAPPER_ZIP_PATH).expect("wrapper");
        assert_eq!(wrapper.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut text = String::new();
        wrapper.read_to_string(&mut text).expect("reads");
        assert_eq!(text, "#!/bin/sh\nexec \"$@\"\n");
        assert!(a.description().ends_with(&format!("sha256:{}", a.sha256())));
    }

    #[test]
    fn layer_arns_are_recognised() {
        assert!(is_ours(
            "arn:aws:lambda:eu-west-1:123:layer:borescope-lambda:4"
        ));
        assert!(!is_ours(
            "arn:aws:lambda:eu-west-1:123:layer:borescope-lambda-x:4"
        ));
        assert!(!is_ours("arn:aws:lambda:eu-west-1:123:layer:other:1"));
    }
}
