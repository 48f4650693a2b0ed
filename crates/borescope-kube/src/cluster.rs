//! A connection to a cluster: the client, the namespace commands default to, and API errors
//! turned into messages that say exactly what was refused.

use crate::KubeError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    /// The API client.
    pub client: Client,
    /// The namespace used when none is given (the context's, else `default`).
    pub namespace: String,
    /// The kubeconfig context in use, if the configuration came from a kubeconfig.
    pub context: Option<String>,
    /// The API server's URL, for messages.
    pub server: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("server", &self.server).field("context", &self.context).finish()
    }
}

impl Cluster {
    /// Connects with the kubeconfig (`KUBECONFIG` or `~/.kube/config`) and `context` (its
    /// current context when `None`), or the in-cluster service account when there is no
    /// kubeconfig and no context was asked for. No request is sent yet.
    ///
    /// `kubeconfig` is a `KUBECONFIG` value (files separated by `:`) to use instead of this
    /// process's own (the daemon gets its caller's).
    pub async fn connect(kubeconfig: Option<&str>, context: Option<&str>) -> Result<Cluster, KubeError> {
        let options = KubeConfigOptions { context: context.map(str::to_string), ..KubeConfigOptions::default() };
        let loaded = match kubeconfig.filter(|k| !k.is_empty()) {
            Some(files) => match read_kubeconfigs(files) {
                Ok(merged) => Config::from_custom_kubeconfig(merged, &options).await,
                Err(error) => Err(error),
            },
            None => Config::from_kubeconfig(&options).await,
        };
        let (config, context) = match loaded {
            Ok(config) => (config, Some(context.map(str::to_string).unwrap_or_else(|| current_context(kubeconfig)))),
            Err(error) if context.is_some() => {
                return Err(KubeError::Config(format!(
                    "cannot use the kubeconfig context `{}`: {error}\nhint: `--context` names a context of your kubeconfig (KUBECONFIG or ~/.kube/config)",
                    context.unwrap_or_default()
                )));
            }
            Err(kubeconfig_error) => match Config::incluster() {
                Ok(config) => (config, None),
                Err(_) => {
                    // kube quotes paths as '"PATH"'.
                    let why = kubeconfig_error.to_string().replace("'\"", "`").replace("\"'", "`");
                    return Err(KubeError::Config(format!(
                        "no Kubernetes configuration: {why}\nhint: set KUBECONFIG to your kubeconfig file (or create ~/.kube/config), or run borescope inside the cluster"
                    )));
                }
            },
        };
        let namespace = config.default_namespace.clone();
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| KubeError::Config(format!("cannot set up a client for {server}: {e}")))?;
        Ok(Cluster { client, namespace, context, server })
    }

    /// `namespace`, or the default one.
    pub fn namespace_or_default(&self, namespace: Option<&str>) -> String {
        namespace.map(str::to_string).unwrap_or_else(|| self.namespace.clone())
    }

    /// Turns an API error into a message naming what was being done (`doing`: "list pods in
    /// namespace `shop`").
    pub fn error(&self, doing: &str, error: kube::Error) -> KubeError {
        api_error(&self.server, self.context.as_deref(), doing, error)
    }
}

/// The kubeconfig files of a `KUBECONFIG` value, merged as kubectl merges them.
fn read_kubeconfigs(files: &str) -> Result<Kubeconfig, kube::config::KubeconfigError> {
    let mut merged: Option<Kubeconfig> = None;
    for file in files.split(':').filter(|f| !f.is_empty()) {
        let next = Kubeconfig::read_from(file)?;
        merged = Some(match merged {
            Some(before) => before.merge(next)?,
            None => next,
        });
    }
    Ok(merged.unwrap_or_default())
}

fn current_context(kubeconfig: Option<&str>) -> String {
    let read = match kubeconfig.filter(|k| !k.is_empty()) {
        Some(files) => read_kubeconfigs(files).ok(),
        None => Kubeconfig::read().ok(),
    };
    read.and_then(|k| k.current_context).unwrap_or_default()
}

/// The message for an API error.
pub(crate) fn api_error(server: &str, context: Option<&str>, doing: &str, error: kube::Error) -> KubeError {
    match error {
        kube::Error::Api(status) => match status.code {
            403 => KubeError::Forbidden(forbidden(&status.message, doing)),
            404 => KubeError::NotFound(format!("cannot {doing}: {}", status.message)),
            401 => KubeError::Config(format!(
                "the cluster at {server} refused the credentials{} (401 Unauthorized) while trying to {doing}\nhint: log in again (a token may have expired), or pick another context with `--context`",
                context.map(|c| format!(" of context `{c}`")).unwrap_or_default()
            )),
            code => KubeError::Api(format!("cannot {doing}: the API answered {code}: {}", status.message)),
        },
        other => KubeError::Api(format!("cannot {doing}: the API server at {server} failed: {other}")),
    }
}

/// `pods "web-1" is forbidden: User "dev" cannot create resource "pods/exec" in API group ""
/// in the namespace "shop"` → who may not do what, and the Role rule that allows it.
fn forbidden(message: &str, doing: &str) -> String {
    let quoted_after = |marker: &str| -> Option<String> {
        let rest = &message[message.find(marker)? + marker.len()..];
        let end = rest.find('"')?;
        Some(rest[..end].to_string())
    };
    let user = quoted_after("User \"");
    let resource = quoted_after("resource \"");
    let namespace = quoted_after("the namespace \"");
    let verb = message
        .find(" cannot ")
        .map(|at| &message[at + 8..])
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string);
    match (user, verb, resource) {
        (Some(user), Some(verb), Some(resource)) => {
            let place = namespace.map(|ns| format!(" in namespace `{ns}`")).unwrap_or_else(|| " cluster-wide".into());
            let plain = resource;
            // Streams (exec, port-forward) are opened with a WebSocket `GET` by borescope and
            // with a `POST` by kubectl: a Role for both names both verbs.
            let (verbs, why) = if ["pods/exec", "pods/portforward", "pods/attach"].contains(&plain.as_str()) {
                (
                    "\"get\", \"create\"".to_string(),
                    " (borescope opens the stream with a WebSocket GET, kubectl with a POST)",
                )
            } else {
                (format!("\"{verb}\""), "")
            };
            format!(
                "RBAC: `{user}` may not `{verb}` `{plain}`{place}, which borescope needs to {doing}\nhint: a Role with the rule {{apiGroups: [\"\"], resources: [\"{plain}\"], verbs: [{verbs}]}}{why} bound to `{user}` allows it; ask your cluster admin, or use a context that has it (`--context`)"
            )
        }
        _ => format!("the cluster refused to let borescope {doing} (403): {message}\nhint: ask your cluster admin for that permission, or use a context that has it (`--context`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_the_user_verb_resource_and_namespace() {
        let text = forbidden(
            r#"pods "web-1" is forbidden: User "limited" cannot create resource "pods/exec" in API group "" in the namespace "shop""#,
            "run a program in pod `web-1`",
        );
        assert!(text.starts_with("RBAC: `limited` may not `create` `pods/exec` in namespace `shop`, which borescope needs to run a program in pod `web-1`"), "{text}");
        assert!(text.contains(r#"resources: ["pods/exec"], verbs: ["get", "create"]}"#), "{text}");
    }

    #[test]
    fn an_unparsed_refusal_keeps_the_server_message() {
        let text = forbidden("forbidden: something else", "list pods");
        assert!(text.contains("(403): forbidden: something else"), "{text}");
    }
}
