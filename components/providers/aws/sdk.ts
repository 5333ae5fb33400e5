// Lazy access to the AWS SDK: deep modules (`@pulumi/aws/ec2` ≈ 12 ms) loaded on first use, never at
// import time, so a DigitalOcean stack never loads @pulumi/aws (see test/program/lazy.test.ts).
import type * as autoscaling from "@pulumi/aws/autoscaling";
import type * as ec2 from "@pulumi/aws/ec2";
import type * as vpc from "@pulumi/aws/vpc";
import type * as provider from "@pulumi/aws/provider";

export const awsSdk = {
  autoscaling: (): typeof autoscaling => require("@pulumi/aws/autoscaling"),
  ec2: (): typeof ec2 => require("@pulumi/aws/ec2"),
  vpc: (): typeof vpc => require("@pulumi/aws/vpc"),
  Provider: (): typeof provider.Provider => require("@pulumi/aws/provider").Provider,
};
