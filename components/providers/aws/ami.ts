// The AMI per host OS, from the official publishers (owner accounts), newest matching image.
import type * as pulumi from "@pulumi/pulumi";
import type { OsFamily } from "../../model";
import { awsSdk } from "./sdk";

/** Owner account and name pattern of each OS's official x86_64 AMIs. */
export const AMI_FILTERS: Record<OsFamily, { owner: string; name: string }> = {
  "debian-12": { owner: "136693071363", name: "debian-12-amd64-*" },
  "ubuntu-22.04": { owner: "099720109477", name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*" },
  "ubuntu-24.04": { owner: "099720109477", name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*" },
  "rocky-9": { owner: "792107900819", name: "Rocky-9-EC2-Base-9.*x86_64*" },
};

export function lookupAmi(os: OsFamily, opts: pulumi.InvokeOptions): pulumi.Output<string> {
  const f = AMI_FILTERS[os];
  return awsSdk
    .ec2()
    .getAmiOutput(
      {
        mostRecent: true,
        owners: [f.owner],
        filters: [
          { name: "name", values: [f.name] },
          { name: "architecture", values: ["x86_64"] },
          { name: "virtualization-type", values: ["hvm"] },
        ],
      },
      opts,
    )
    .apply((ami) => ami.id);
}
