//! The world of one control-plane test: a fresh moto server, a connection to it, an S3 bucket
//! with the functions' code, and a CloudFormation stack `orders` built from a template here:
//!
//! - `Role` (shared by `Plain` and `Wrapped`), `Plain` (python3.12, no variables),
//!   `Wrapped` (python3.11, variables, its own exec wrapper, a layer, timeout 7),
//!   `Node` (nodejs20.x, refused);
//! - `Inner`, a nested stack with its own role and `InnerFn` (python3.13, timeout 600).

use aws_credential_types::Credentials;
use aws_sdk_cloudformation::types::{Capability, Parameter};
use borescope_lambda::aws::{Aws, AwsOptions};
use borescope_test::moto::{self, MotoServer};
use serde_json::{Value, json};
use std::io::Write;

pub const STACK: &str = "orders";
pub const BUCKET: &str = "orders-code";
pub const OTHER_WRAPPER: &str = "/opt/company/wrapper";

pub struct World {
    pub moto: MotoServer,
    pub aws: Aws,
    pub state_dir: tempfile::TempDir,
    /// The ARN of the company layer `Wrapped` has.
    pub company_layer: String,
}

/// Connection options pointing at `url` (moto, or a proxy in front of it).
pub fn options(url: &str) -> AwsOptions {
    AwsOptions {
        region: Some(moto::REGION.to_string()),
        profile: None,
        endpoint_url: Some(url.to_string()),
        credentials: Some(Credentials::new(
            moto::ACCESS_KEY_ID,
            moto::SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        )),
    }
}

impl World {
    pub async fn new() -> World {
        let moto = MotoServer::start();
        let aws = Aws::connect(&options(&moto.url))
            .await
            .expect("connect to moto");
        let world = World {
            company_layer: String::new(),
            moto,
            aws,
            state_dir: tempfile::tempdir().expect("state dir"),
        };
        world.upload_code();
        let company_layer = world.publish_layer("company-tools").await;
        let world = World {
            company_layer,
            ..world
        };
        world.create_stack().await;
        world
    }

    /// A fake SigV4 header: moto reads the region and service from it (it checks no signature).
    fn auth(service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
            moto::REGION
        )
    }

    /// Raw request to moto, as JSON.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        service: &str,
        body: Option<&[u8]>,
    ) -> borescope_test::http::Response {
        let auth = World::auth(service);
        borescope_test::http::request(
            method,
            &format!("{}{path}", self.moto.url),
            None,
            &[("Authorization", &auth)],
            body,
        )
        .expect("moto answers")
    }

    fn upload_code(&self) {
        let config = format!(
            "<CreateBucketConfiguration><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            moto::REGION
        );
        let made = self.raw("PUT", &format!("/{BUCKET}"), "s3", Some(config.as_bytes()));
        assert_eq!(made.status, 200, "create bucket: {}", made.text());
        let code = zip_of(&[("app.py", "def handler(event, context):\n    return event\n")]);
        let put = self.raw("PUT", &format!("/{BUCKET}/app.zip"), "s3", Some(&code));
        assert_eq!(put.status, 200, "upload code: {}", put.text());
        let inner = serde_json::to_vec(&inner_template()).expect("json");
        let put = self.raw("PUT", &format!("/{BUCKET}/inner.json"), "s3", Some(&inner));
        assert_eq!(put.status, 200, "upload nested template: {}", put.text());
    }

    pub async fn publish_layer(&self, name: &str) -> String {
        let lambda = aws_sdk_lambda::Client::new(self.aws.sdk_config());
        let out = lambda
            .publish_layer_version()
            .layer_name(name)
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_smithy_types::Blob::new(zip_of(&[(
                        "python/tools.py",
                        "X = 1\n",
                    )])))
                    .build(),
            )
            .send()
            .await
            .expect("publish a layer");
        out.layer_version_arn().expect("layer arn").to_string()
    }

    async fn create_stack(&self) {
        let cfn = aws_sdk_cloudformation::Client::new(self.aws.sdk_config());
        cfn.create_stack()
            .stack_name(STACK)
            .template_body(outer_template().to_string())
            .parameters(
                Parameter::builder()
                    .parameter_key("CompanyLayer")
                    .parameter_value(&self.company_layer)
                    .build(),
            )
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .expect("create the stack");
        let described = cfn
            .describe_stacks()
            .stack_name(STACK)
            .send()
            .await
            .expect("describe the stack");
        let status = described
            .stacks()
            .first()
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_string());
        assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"));
        // moto's CloudFormation ignores a function's `Layers`: give `Wrapped` its layer here.
        let wrapped = self.function("Wrapped").await;
        let lambda = aws_sdk_lambda::Client::new(self.aws.sdk_config());
        lambda
            .update_function_configuration()
            .function_name(&wrapped)
            .layers(&self.company_layer)
            .send()
            .await
            .expect("add the company layer");
    }

    /// The physical name of a function of the stack by logical id (`Inner/InnerFn` nested).
    pub async fn function(&self, logical: &str) -> String {
        let found =
            borescope_lambda::aws::stack_functions(&self.aws, STACK, &[logical.to_string()])
                .await
                .expect("stack functions");
        found
            .functions
            .iter()
            .map(|f| f.name.clone())
            .chain(found.refused.iter().map(|f| f.name.clone()))
            .next()
            .expect("the function")
    }

    /// GetFunctionConfiguration as moto answers it, minus what changes with every update.
    pub fn config(&self, name: &str) -> Value {
        let answer = self.raw(
            "GET",
            &format!("/2015-03-31/functions/{name}/configuration"),
            "lambda",
            None,
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
        let mut value = answer.json();
        if let Some(map) = value.as_object_mut() {
            map.remove("LastModified");
            map.remove("RevisionId");
        }
        value
    }

    /// The function's environment variables.
    pub fn env(&self, name: &str) -> Value {
        self.config(name)
            .pointer("/Environment/Variables")
            .cloned()
            .unwrap_or(json!({}))
    }

    /// The role's inline relay policy, if any.
    pub async fn relay_policy(&self, role: &str) -> Option<Value> {
        let iam = aws_sdk_iam::Client::new(self.aws.sdk_config());
        match iam
            .get_role_policy()
            .role_name(role)
            .policy_name("borescope-lambda-relay")
            .send()
            .await
        {
            Ok(out) => Some(
                serde_json::from_str(&borescope_lambda::aws::policy::decode_document(
                    out.policy_document(),
                ))
                .expect("policy JSON"),
            ),
            Err(e) => {
                let text = format!("{:?}", e);
                assert!(text.contains("NoSuchEntity"), "{text}");
                None
            }
        }
    }

    /// The role names of the stack's Python functions.
    pub async fn roles(&self) -> Vec<String> {
        let found = borescope_lambda::aws::stack_functions(&self.aws, STACK, &[])
            .await
            .expect("stack functions");
        let mut roles: Vec<String> = found
            .functions
            .iter()
            .map(|f| f.role.rsplit('/').next().unwrap_or("").to_string())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Every function's configuration, by name.
    pub async fn configs(&self) -> Vec<(String, Value)> {
        let found = borescope_lambda::aws::stack_functions(&self.aws, STACK, &[])
            .await
            .expect("stack functions");
        let mut names: Vec<String> = found.functions.iter().map(|f| f.name.clone()).collect();
        names.extend(found.refused.iter().map(|f| f.name.clone()));
        names.sort();
        names
            .into_iter()
            .map(|n| (n.clone(), self.config(&n)))
            .collect()
    }
}

pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

fn role() -> Value {
    json!({"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}})
}

fn function(runtime: &str, role_ref: Value, extra: Value) -> Value {
    let mut props = json!({
        "Runtime": runtime, "Handler": "app.handler", "Role": role_ref,
        "Code": {"S3Bucket": BUCKET, "S3Key": "app.zip"}
    });
    if let (Some(map), Some(more)) = (props.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            map.insert(k.clone(), v.clone());
        }
    }
    json!({"Type": "AWS::Lambda::Function", "Properties": props})
}

fn outer_template() -> Value {
    let role_arn = json!({"Fn::GetAtt": ["Role", "Arn"]});
    json!({
        "Parameters": {"CompanyLayer": {"Type": "String"}},
        "Resources": {
            "Role": role(),
            "Plain": function("python3.12", role_arn.clone(), json!({})),
            "Wrapped": function("python3.11", role_arn.clone(), json!({
                "Timeout": 7,
                "Layers": [{"Ref": "CompanyLayer"}],
                "Environment": {"Variables": {"TABLE": "orders", "AWS_LAMBDA_EXEC_WRAPPER": OTHER_WRAPPER}}
            })),
            "Node": function("nodejs20.x", role_arn, json!({})),
            "Inner": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                "TemplateURL": format!("https://{BUCKET}.s3.amazonaws.com/inner.json")}}
        }
    })
}

fn inner_template() -> Value {
    json!({
        "Resources": {
            "InnerRole": role(),
            "InnerFn": function("python3.13", json!({"Fn::GetAtt": ["InnerRole", "Arn"]}), json!({
                "Timeout": 600, "Environment": {"Variables": {"MODE": "nested"}}
            }))
        }
    })
}
