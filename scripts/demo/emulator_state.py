#!/usr/bin/env python3
"""Print, as JSON, what the emulator holds for a kmsguard stack: used by `make demo` and test/demo_test.go.

usage: emulator_state.py STACK KEY_LOGICAL_ID   (endpoint, region and fake credentials come from the AWS_* environment)

Only what moto implements is asked: CloudFormation stack resources, the KMS key (metadata, rotation,
aliases), EventBridge rules (pattern, state, targets), CloudWatch Logs groups, IAM users and SNS topics.
The key id, not its ARN, is used for KMS calls (moto mishandles some key-ARN lookups).
"""
import json
import os
import sys

import boto3

stack, key_logical_id = sys.argv[1], sys.argv[2]
kw = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"], "region_name": os.environ.get("AWS_REGION", "us-east-1")}
cfn, kms, events, logs, iam, sns = (boto3.client(s, **kw) for s in ("cloudformation", "kms", "events", "logs", "iam", "sns"))

out = {}
st = cfn.describe_stacks(StackName=stack)["Stacks"][0]
out["stack"] = {"StackStatus": st["StackStatus"], "Outputs": {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}}
summaries = [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack) for r in page["StackResourceSummaries"]]
# Resources moto's CloudFormation skipped come back without ids; count them rather than list blanks.
out["resources"] = [
    {"LogicalResourceId": r["LogicalResourceId"], "ResourceType": r.get("ResourceType", ""),
     "PhysicalResourceId": r.get("PhysicalResourceId", ""), "ResourceStatus": r.get("ResourceStatus", "")}
    for r in summaries if r.get("LogicalResourceId")
]
out["resourcesWithoutId"] = sum(1 for r in summaries if not r.get("LogicalResourceId"))
key_id = next(r["PhysicalResourceId"] for r in out["resources"] if r["LogicalResourceId"] == key_logical_id)
# moto 5.2.1 stores the KeyPolicy of a CloudFormation-created key as an object instead of a JSON string,
# and then fails (HTTP 500) every DescribeKey, which reads it. Writing the same policy back through
# PutKeyPolicy stores it as a string; the policy's content does not change.
policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
out["keyPolicyRewritten"] = not isinstance(policy, str)
if not isinstance(policy, str):
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
out["keyPolicySids"] = [st.get("Sid") for st in json.loads(policy)["Statement"]]
md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
out["key"] = {
    "KeyId": md["KeyId"], "Arn": md["Arn"], "KeyState": md["KeyState"], "KeySpec": md.get("KeySpec"), "KeyUsage": md.get("KeyUsage"),
    "Description": md.get("Description"),
    "RotationEnabled": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
    "Aliases": sorted(a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]),
}
rules = []
for r in events.list_rules()["Rules"]:
    d = events.describe_rule(Name=r["Name"])
    targets = events.list_targets_by_rule(Rule=r["Name"])["Targets"]
    rules.append({"Name": r["Name"], "State": d.get("State"), "EventPattern": json.loads(d["EventPattern"]) if d.get("EventPattern") else None,
                  "Targets": [{"Id": t["Id"], "Arn": t["Arn"], "HasInputTransformer": "InputTransformer" in t} for t in targets]})
out["rules"] = rules
out["logGroups"] = [{"logGroupName": g["logGroupName"], "retentionInDays": g.get("retentionInDays"), "kmsKeyId": g.get("kmsKeyId")}
                    for g in logs.describe_log_groups()["logGroups"]]
out["metricFilters"] = [{"filterName": f["filterName"], "logGroupName": f["logGroupName"], "filterPattern": f["filterPattern"]}
                        for f in logs.describe_metric_filters()["metricFilters"]]
out["users"] = sorted(u["UserName"] for u in iam.list_users()["Users"])
out["topics"] = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
json.dump(out, sys.stdout, indent=1, sort_keys=True)
print()
