"""Creates infra/template.yaml as a CloudFormation stack in an emulator (moto), for tests.

Usage: python3 infra/moto_stack.py ENDPOINT PREFIX [MAX_RECEIVE_COUNT] [Key=Value ...]

Extra Key=Value pairs are more stack parameters. With DeployCompute=true (the template's
default), the load balancer and the tasks go into moto's default VPC and its subnets.

Prints JSON on success: {"outputs": {...}, "taskEnvironments": {"api": {...}, "worker": {...}},
"skipped": [...]} where taskEnvironments holds the environment of each container of the stack's
task definitions (as ECS would start them; empty without compute) and skipped lists the template's
resources moto's CloudFormation did not create (types it does not implement). Exits 1 with the
stack's events otherwise. Uses boto3, which moto installs. Never point it at real AWS: it uses
dummy credentials on purpose.
"""

import json
import pathlib
import sys
import time

import boto3


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def main() -> int:
    endpoint, prefix = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    max_receive_count = "5"
    if rest and "=" not in rest[0]:
        max_receive_count, rest = rest[0], rest[1:]
    params = {"Prefix": prefix, "MaxReceiveCount": max_receive_count}
    params.update(dict(kv.split("=", 1) for kv in rest))
    params.setdefault("DeployCompute", "true")
    if params["DeployCompute"] == "true":
        ec2 = client("ec2", endpoint)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
        ids = ",".join(s["SubnetId"] for s in subnets["Subnets"][:2])
        params.setdefault("VpcId", vpc["VpcId"])
        params.setdefault("PublicSubnetIds", ids)
        params.setdefault("PrivateSubnetIds", ids)
        params.setdefault("Image", "integrations:test")

    template_text = (pathlib.Path(__file__).parent / "template.yaml").read_text()
    cfn = client("cloudformation", endpoint)
    name = f"{prefix}-stack"
    cfn.create_stack(
        StackName=name,
        TemplateBody=template_text,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.time() + 60
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if not status.endswith("IN_PROGRESS") or time.time() > deadline:
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            for e in events:
                print(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""), file=sys.stderr)
            print(f"stack {name}: {status}", file=sys.stderr)
            return 1
        time.sleep(0.5)

    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    created = {
        r["LogicalResourceId"]
        for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    }
    # The template's resources moto did not create: those whose condition is false, and those of
    # types moto's CloudFormation does not implement (it skips them with a warning).
    skipped = []
    template = json.loads(json.dumps(yaml_load(template_text)))
    conditions_false = set() if params["DeployCompute"] == "true" else {"Compute", "ComputeWithCertificate"}
    if not params.get("CertificateArn"):
        conditions_false.add("ComputeWithCertificate")
    if not params.get("AlarmEmail"):
        conditions_false.add("HasAlarmEmail")
    for logical_id, resource in template["Resources"].items():
        if resource.get("Condition") in conditions_false:
            continue
        if logical_id not in created:
            skipped.append({"logicalId": logical_id, "type": resource["Type"]})

    environments = {}
    if params["DeployCompute"] == "true":
        ecs = client("ecs", endpoint)
        for key in ("ApiTaskDefinitionArn", "WorkerTaskDefinitionArn"):
            definition = ecs.describe_task_definition(taskDefinition=outputs[key])["taskDefinition"]
            for container in definition["containerDefinitions"]:
                environments[container["name"]] = {
                    "command": container.get("command", []),
                    "environment": {e["name"]: e["value"] for e in container.get("environment", [])},
                }
    print(json.dumps({"outputs": outputs, "taskEnvironments": environments, "skipped": skipped}, indent=2))
    return 0


def yaml_load(text):
    """The template as data, CloudFormation's short tags (!Ref, !Sub, …) kept as plain values."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}

    Loader.add_multi_constructor("!", any_tag)
    return yaml.load(text, Loader=Loader)


if __name__ == "__main__":
    sys.exit(main())
