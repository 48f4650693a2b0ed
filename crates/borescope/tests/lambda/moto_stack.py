"""Drives the moto server of a Lambda test with boto3 (from moto's own virtualenv; the endpoint
comes from AWS_ENDPOINT_URL):

    moto_stack.py create STACK     a stack with one Python and one Node.js function (code in S3),
                                   prints {"python": NAME, "node": NAME}
    moto_stack.py config NAME      the function's configuration as JSON (volatile fields dropped)
    moto_stack.py policy ROLE      the role's inline policy names as JSON
"""

import io
import json
import sys
import zipfile

import boto3

# What the deployed function would run in Lambda (the fallback): not the local code.
DEPLOYED = b'def create_order(event, context):\n    return {"where": "lambda"}\n'


def code_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("orders/__init__.py", b"")
        z.writestr("orders/app.py", DEPLOYED)
    return buf.getvalue()


def create(stack):
    s3 = boto3.client("s3")
    if s3.meta.region_name == "us-east-1":
        s3.create_bucket(Bucket="code")
    else:
        s3.create_bucket(Bucket="code", CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    s3.put_object(Bucket="code", Key="orders.zip", Body=code_zip())
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": "orders-api-role",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        },
    }

    def function(name, runtime, handler):
        return {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": name, "Runtime": runtime, "Handler": handler, "Timeout": 3,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"S3Bucket": "code", "S3Key": "orders.zip"},
                "Environment": {"Variables": {"STAGE": "dev", "TAX_RATE": "0.2"}},
            },
        }

    template = {"Resources": {
        "Role": role,
        "CreateOrder": function(stack + "-create", "python3.13", "orders.app.create_order"),
        "Thumbnails": function(stack + "-thumbs", "nodejs20.x", "index.handler"),
    }}
    boto3.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
    print(json.dumps({"python": stack + "-create", "node": stack + "-thumbs"}))


def config(name):
    c = boto3.client("lambda").get_function_configuration(FunctionName=name)
    for volatile in ("ResponseMetadata", "LastModified", "RevisionId", "LastUpdateStatus", "State", "CodeSha256"):
        c.pop(volatile, None)
    print(json.dumps(c, sort_keys=True, default=str))


def policy(role):
    print(json.dumps(boto3.client("iam").list_role_policies(RoleName=role)["PolicyNames"]))


if __name__ == "__main__":
    {"create": create, "config": config, "policy": policy}[sys.argv[1]](*sys.argv[2:])
