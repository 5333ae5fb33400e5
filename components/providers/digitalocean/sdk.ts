// Lazy access to the DigitalOcean SDK: one small file per class, loaded only by DigitalOcean stacks.
import type { Droplet } from "@pulumi/digitalocean/droplet";
import type { DropletAutoscale } from "@pulumi/digitalocean/dropletAutoscale";
import type { Firewall } from "@pulumi/digitalocean/firewall";
import type * as getSshKeys from "@pulumi/digitalocean/getSshKeys";
import type { Provider } from "@pulumi/digitalocean/provider";
import type { SshKey } from "@pulumi/digitalocean/sshKey";
import type { Tag } from "@pulumi/digitalocean/tag";
import type { Vpc } from "@pulumi/digitalocean/vpc";

export const doSdk = {
  Droplet: (): typeof Droplet => require("@pulumi/digitalocean/droplet").Droplet,
  DropletAutoscale: (): typeof DropletAutoscale => require("@pulumi/digitalocean/dropletAutoscale").DropletAutoscale,
  Firewall: (): typeof Firewall => require("@pulumi/digitalocean/firewall").Firewall,
  getSshKeys: (): typeof getSshKeys => require("@pulumi/digitalocean/getSshKeys"),
  Provider: (): typeof Provider => require("@pulumi/digitalocean/provider").Provider,
  SshKey: (): typeof SshKey => require("@pulumi/digitalocean/sshKey").SshKey,
  Tag: (): typeof Tag => require("@pulumi/digitalocean/tag").Tag,
  Vpc: (): typeof Vpc => require("@pulumi/digitalocean/vpc").Vpc,
};
