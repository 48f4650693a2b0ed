//! The relay policy: one inline policy `borescope-lambda-relay` per execution role, with one
//! statement per attach (its `Sid` names the attach's prefix) allowing exactly what the shim
//! does on IoT Core: connect as `borescope-P-*`, publish to `borescope/P/up`, subscribe to and
//! receive from `borescope/P/down/*`. Roles shared by several functions get it once; roles
//! shared with another attached stack keep that stack's statement, and the policy goes away
//! with its last statement.

use super::account::Aws;
use super::error::{AwsError, sdk};
use super::report::{Progress, ProgressFn};
use super::retry::retrying;
use serde_json::{Value, json};

/// The inline policy's name.
pub const POLICY_NAME: &str = "borescope-lambda-relay";

/// The role name of a role ARN (`arn:aws:iam::1:role/path/name` → `name`).
pub fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

/// The statement id of the attach with `prefix`.
fn sid(prefix: &str) -> String {
    format!("Borescope{prefix}")
}

/// The statement allowing the shims of the attach with `prefix` to use the relay.
pub(crate) fn statement(aws: &Aws, prefix: &str) -> Value {
    json!({
        "Sid": sid(prefix),
        "Effect": "Allow",
        "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
        "Resource": [
            aws.iot_arn(&format!("client/borescope-{prefix}-*")),
            aws.iot_arn(&format!("topic/borescope/{prefix}/up")),
            aws.iot_arn(&format!("topic/borescope/{prefix}/down/*")),
            aws.iot_arn(&format!("topicfilter/borescope/{prefix}/down/*")),
        ],
    })
}

/// Every statement of `document`.
fn statements(document: &Value) -> Vec<Value> {
    match document.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    }
}

/// The statements of `document` other than the one for `prefix`.
fn other_statements(document: &Value, prefix: &str) -> Vec<Value> {
    let own = sid(prefix);
    statements(document)
        .into_iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(own.as_str()))
        .collect()
}

fn document(statements: Vec<Value>) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// The role's current relay policy document, if it has one.
async fn current(aws: &Aws, role: &str) -> Result<Option<Value>, AwsError> {
    let resource = format!("role {role}");
    match aws
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name(POLICY_NAME)
        .send()
        .await
    {
        Ok(out) => {
            let text = decode_document(out.policy_document());
            Ok(Some(serde_json::from_str(&text).unwrap_or(Value::Null)))
        }
        Err(e) => match sdk(e, "iam:GetRolePolicy", resource) {
            AwsError::NotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

/// Writes the role's relay policy document (retrying conflicts and throttling).
async fn put(aws: &Aws, role: &str, text: &str, progress: &mut ProgressFn<'_>) -> Result<(), AwsError> {
    retrying(progress, || async {
        aws.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(POLICY_NAME)
            .policy_document(text)
            .send()
            .await
            .map_err(|e| sdk(e, "iam:PutRolePolicy", format!("role {role}")))
    })
    .await
    .map(|_| ())
}

/// Adds (or refreshes) the statement of `prefix` in `role`'s relay policy.
pub(crate) async fn grant(
    aws: &Aws,
    role: &str,
    prefix: &str,
    progress: &mut ProgressFn<'_>,
) -> Result<(), AwsError> {
    let mut statements = match current(aws, role).await? {
        Some(doc) => other_statements(&doc, prefix),
        None => Vec::new(),
    };
    statements.push(statement(aws, prefix));
    let text = document(statements);
    put(aws, role, &text, progress).await?;
    progress(Progress::PolicyPut {
        role: role.to_string(),
    });
    Ok(())
}

/// Removes the statement of `prefix` from `role`'s relay policy (the policy itself when it was
/// the last); `Ok(false)` when there was nothing of this attach's.
pub(crate) async fn revoke(
    aws: &Aws,
    role: &str,
    prefix: &str,
    progress: &mut ProgressFn<'_>,
) -> Result<bool, AwsError> {
    let Some(doc) = current(aws, role).await? else {
        return Ok(false);
    };
    let others = other_statements(&doc, prefix);
    if others.len() == statements(&doc).len() && !doc.is_null() {
        return Ok(false);
    }
    if others.is_empty() {
        let deleted = retrying(progress, || async {
            aws.iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(POLICY_NAME)
                .send()
                .await
                .map_err(|e| sdk(e, "iam:DeleteRolePolicy", format!("role {role}")))
        })
        .await;
        match deleted {
            Ok(_) | Err(AwsError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    } else {
        let text = document(others);
        put(aws, role, &text, progress).await?;
    }
    progress(Progress::PolicyRemoved {
        role: role.to_string(),
    });
    Ok(true)
}

/// IAM returns policy documents URL-encoded (RFC 3986); text that is already JSON is kept.
pub fn decode_document(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_drop_the_path() {
        assert_eq!(
            role_name("arn:aws:iam::1:role/service/orders-Role-X"),
            "orders-Role-X"
        );
        assert_eq!(role_name("arn:aws:iam::1:role/r"), "r");
    }

    #[test]
    fn documents_are_decoded() {
        assert_eq!(decode_document("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(decode_document("{\"a\": \"%\"}"), "{\"a\": \"%\"}");
        assert_eq!(decode_document("%7"), "%7");
    }

    #[test]
    fn statements_of_other_attaches_are_kept() {
        let doc = json!({"Statement": [{"Sid": "Borescopeaa"}, {"Sid": "Borescopebb"}]});
        assert_eq!(
            other_statements(&doc, "aa"),
            vec![json!({"Sid": "Borescopebb"})]
        );
        assert_eq!(
            other_statements(&json!({"Statement": {"Sid": "Borescopeaa"}}), "aa"),
            Vec::<Value>::new()
        );
    }
}
