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

/** What a launch template needs of its image: the id, and the device name of its root volume. */
export interface AwsImage {
  id: string;
  rootDeviceName: string;
}

/**
 * The image of an OS (its publisher's newest) or the image `imageId` names (a pool's `image`): a launch template
 * maps its root volume by the image's own root device name (Debian's is /dev/xvda, Ubuntu's /dev/sda1).
 */
export function lookupImage(os: OsFamily, imageId: string | undefined,
  opts: pulumi.InvokeOptions): pulumi.Output<AwsImage> {
  const f = AMI_FILTERS[os];
  const args = imageId
    ? { filters: [{ name: "image-id", values: [imageId] }] }
    : {
        mostRecent: true,
        owners: [f.owner],
        filters: [
          { name: "name", values: [f.name] },
          { name: "architecture", values: ["x86_64"] },
          { name: "virtualization-type", values: ["hvm"] },
        ],
      };
  return awsSdk.ec2().getAmiOutput(args, opts)
    .apply((ami) => ({ id: imageId ?? ami.id, rootDeviceName: ami.rootDeviceName }));
}
