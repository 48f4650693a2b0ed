//! Functions from a SAM or CloudFormation template (YAML or JSON, short-form intrinsic tags
//! allowed), for running one locally: its handler, runtime, code directory, timeout, memory
//! and environment (SAM `Globals.Function` merged; `Ref` to a parameter becomes its default;
//! a value only AWS can compute is left out and named).

use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a template could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file could not be read.
    #[error("cannot read the template {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Not YAML or JSON.
    #[error("the template {path} is not YAML or JSON: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// No function by that name.
    #[error("the template {path} has no function `{name}`; its functions: {known}")]
    NoSuchFunction {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The logical ids it has.
        known: String,
    },
    /// The function has no handler (a container image function).
    #[error("the function `{0}` has no Handler (a container image function?); borescope runs zip-packaged Python functions")]
    NoHandler(String),
}

/// One function as a local run needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TemplateFunction {
    /// The resource's logical id.
    pub logical_id: String,
    /// `FunctionName`, when the template sets one.
    pub function_name: Option<String>,
    /// `module.function`.
    pub handler: String,
    /// `python3.13`, ...
    pub runtime: Option<String>,
    /// The code directory (`CodeUri`, relative to the template's directory), when local.
    pub code_dir: Option<PathBuf>,
    /// Seconds (Lambda's default 3).
    pub timeout_secs: u64,
    /// MB (Lambda's default 128).
    pub memory_mb: u64,
    /// The environment variables the template gives it.
    pub env: BTreeMap<String, String>,
    /// Variables left out because only AWS can compute them.
    pub unresolved: Vec<String>,
}

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    path: PathBuf,
    root: Value,
}

fn key<'a>(map: &'a Value, name: &str) -> Option<&'a Value> {
    map.as_mapping()?.get(Value::String(name.to_string()))
}

fn untag(value: &Value) -> (Option<String>, &Value) {
    match value {
        Value::Tagged(tagged) => (Some(tagged.tag.to_string().trim_start_matches('!').to_string()), &tagged.value),
        other => {
            // Long form: {"Ref": X} / {"Fn::Sub": X}.
            if let Some(map) = other.as_mapping()
                && map.len() == 1
                && let Some((Value::String(name), inner)) = map.iter().next()
                && (name == "Ref" || name.starts_with("Fn::"))
            {
                return (Some(name.trim_start_matches("Fn::").to_string()), inner);
            }
            (None, other)
        }
    }
}

impl Template {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: path.to_path_buf(), source })?;
        let root: Value = serde_yaml::from_str(&text).map_err(|e| TemplateError::Parse { path: path.to_path_buf(), reason: e.to_string() })?;
        Ok(Template { path: path.to_path_buf(), root })
    }

    fn resources(&self) -> Vec<(String, &Value)> {
        let Some(resources) = key(&self.root, "Resources").and_then(Value::as_mapping) else { return Vec::new() };
        resources
            .iter()
            .filter_map(|(name, resource)| {
                let kind = key(resource, "Type")?.as_str()?;
                matches!(kind, "AWS::Serverless::Function" | "AWS::Lambda::Function").then(|| (name.as_str().unwrap_or_default().to_string(), resource))
            })
            .collect()
    }

    /// The logical ids of its functions.
    pub fn function_ids(&self) -> Vec<String> {
        self.resources().into_iter().map(|(name, _)| name).collect()
    }

    /// The function whose logical id or `FunctionName` is `name`.
    pub fn function(&self, name: &str) -> Result<TemplateFunction, TemplateError> {
        let found = self.resources().into_iter().find(|(id, resource)| {
            id == name || key(resource, "Properties").and_then(|p| key(p, "FunctionName")).and_then(|n| self.resolve(n)).as_deref() == Some(name)
        });
        let Some((id, resource)) = found else {
            return Err(TemplateError::NoSuchFunction { path: self.path.clone(), name: name.to_string(), known: self.function_ids().join(", ") });
        };
        self.describe(&id, resource)
    }

    fn parameter_default(&self, name: &str) -> Option<String> {
        let default = key(key(key(&self.root, "Parameters")?, name)?, "Default")?;
        scalar(default)
    }

    fn resolve(&self, value: &Value) -> Option<String> {
        match untag(value) {
            (None, plain) => scalar(plain),
            (Some(tag), inner) if tag == "Ref" => {
                let name = inner.as_str()?;
                match name {
                    "AWS::Region" => std::env::var("AWS_REGION").ok().or_else(|| Some("us-east-1".into())),
                    "AWS::AccountId" => Some("123456789012".into()),
                    "AWS::StackName" => Some("local".into()),
                    "AWS::Partition" => Some("aws".into()),
                    "AWS::URLSuffix" => Some("amazonaws.com".into()),
                    _ => self.parameter_default(name),
                }
            }
            (Some(tag), inner) if tag == "Sub" => {
                let text = inner.as_str()?;
                let mut out = String::new();
                let mut rest = text;
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}')? + start;
                    let name = &rest[start + 2..end];
                    if name.contains('.') {
                        return None;
                    }
                    out.push_str(&self.resolve(&Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                        tag: serde_yaml::value::Tag::new("Ref"),
                        value: Value::String(name.to_string()),
                    })))?);
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Some(out)
            }
            _ => None,
        }
    }

    fn describe(&self, id: &str, resource: &Value) -> Result<TemplateFunction, TemplateError> {
        let empty = Value::Null;
        let props = key(resource, "Properties").unwrap_or(&empty);
        let globals = key(&self.root, "Globals").and_then(|g| key(g, "Function")).unwrap_or(&empty);
        let get = |name: &str| key(props, name).or_else(|| key(globals, name));
        let handler = get("Handler").and_then(|h| self.resolve(h)).ok_or_else(|| TemplateError::NoHandler(id.to_string()))?;
        let base = self.path.parent().unwrap_or(Path::new("."));
        let code_dir = get("CodeUri").and_then(Value::as_str).map(|uri| base.join(uri)).or_else(|| {
            key(resource, "Type").and_then(Value::as_str).filter(|t| *t == "AWS::Serverless::Function").map(|_| base.to_path_buf())
        });
        let mut env = BTreeMap::new();
        let mut unresolved = Vec::new();
        for source in [globals, props] {
            let Some(vars) = key(source, "Environment").and_then(|e| key(e, "Variables")).and_then(Value::as_mapping) else { continue };
            for (name, value) in vars {
                let Some(name) = name.as_str() else { continue };
                match self.resolve(value) {
                    Some(value) => {
                        env.insert(name.to_string(), value);
                        unresolved.retain(|n: &String| n != name);
                    }
                    None => {
                        env.remove(name);
                        unresolved.push(name.to_string());
                    }
                }
            }
        }
        let number = |name: &str, default: u64| get(name).and_then(|v| self.resolve(v)).and_then(|v| v.parse().ok()).unwrap_or(default);
        Ok(TemplateFunction {
            logical_id: id.to_string(),
            function_name: key(props, "FunctionName").and_then(|n| self.resolve(n)),
            handler,
            runtime: get("Runtime").and_then(|r| self.resolve(r)),
            code_dir,
            timeout_secs: number("Timeout", 3),
            memory_mb: number("MemorySize", 128),
            env,
            unresolved,
        })
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAM: &str = r#"
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: python3.13
    Timeout: 10
    Environment:
      Variables:
        LOG_LEVEL: info
Resources:
  OrdersTable:
    Type: AWS::DynamoDB::Table
  CreateOrder:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub orders-${Stage}-create
      CodeUri: src/
      Handler: orders.app.create
      MemorySize: 256
      Environment:
        Variables:
          TABLE: !Ref OrdersTable
          STAGE: !Ref Stage
          REGION: !Ref AWS::Region
          ARN: !GetAtt OrdersTable.Arn
"#;

    fn template(text: &str) -> Template {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.keep().join("template.yaml");
        std::fs::write(&path, text).expect("write");
        Template::load(&path).expect("parses")
    }

    #[test]
    fn sam_function_with_globals_and_intrinsics() {
        let t = template(SAM);
        let f = t.function("CreateOrder").expect("found");
        assert_eq!(f.handler, "orders.app.create");
        assert_eq!(f.runtime.as_deref(), Some("python3.13"));
        assert_eq!((f.timeout_secs, f.memory_mb), (10, 256));
        assert_eq!(f.function_name.as_deref(), Some("orders-dev-create"));
        assert!(f.code_dir.expect("code dir").ends_with("src/"));
        assert_eq!(f.env.get("STAGE").map(String::as_str), Some("dev"));
        assert_eq!(f.env.get("LOG_LEVEL").map(String::as_str), Some("info"));
        assert_eq!(f.unresolved, vec!["TABLE".to_string(), "ARN".to_string()]);
        assert_eq!(t.function("orders-dev-create").expect("by name").logical_id, "CreateOrder");
    }

    #[test]
    fn unknown_function_names_the_known_ones() {
        let err = template(SAM).function("Nope").expect_err("unknown");
        assert!(err.to_string().ends_with("has no function `Nope`; its functions: CreateOrder"), "{err}");
    }

    #[test]
    fn json_cloudformation_long_form() {
        let t = template(r#"{"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "app.handler", "Runtime": "python3.12", "Code": {"S3Bucket": "b", "S3Key": "k"}, "Environment": {"Variables": {"A": {"Ref": "AWS::Partition"}}}}}}}"#);
        let f = t.function("Fn").expect("found");
        assert_eq!(f.code_dir, None);
        assert_eq!(f.env.get("A").map(String::as_str), Some("aws"));
        assert_eq!(f.timeout_secs, 3);
    }
}
