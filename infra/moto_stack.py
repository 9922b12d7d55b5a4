"""Creates infra/template.yaml as a CloudFormation stack in an emulator (moto), for tests.

Usage: python3 infra/moto_stack.py ENDPOINT PREFIX [MAX_RECEIVE_COUNT]

Prints the stack's outputs as JSON on success; exits 1 with the stack's events otherwise. Uses
boto3, which moto installs. Never point it at real AWS: it uses dummy credentials on purpose.
"""

import json
import pathlib
import sys
import time

import boto3


def main() -> int:
    endpoint, prefix = sys.argv[1], sys.argv[2]
    max_receive_count = sys.argv[3] if len(sys.argv) > 3 else "5"
    template = (pathlib.Path(__file__).parent / "template.yaml").read_text()
    cfn = boto3.client(
        "cloudformation",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"{prefix}-stack"
    cfn.create_stack(
        StackName=name,
        TemplateBody=template,
        Parameters=[
            {"ParameterKey": "Prefix", "ParameterValue": prefix},
            {"ParameterKey": "MaxReceiveCount", "ParameterValue": max_receive_count},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    deadline = time.time() + 60
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            print(json.dumps(outputs, indent=2))
            return 0
        if not status.endswith("IN_PROGRESS") or time.time() > deadline:
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            for e in events:
                print(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", ""), file=sys.stderr)
            print(f"stack {name}: {status}", file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
