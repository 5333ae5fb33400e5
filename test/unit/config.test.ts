// Bad stack configs: each must fail before any resource exists, with a problem that names the config
// key (as `pulumi config set --path` spells it), the bad value, and what is allowed.
import { describe, expect, it } from "vitest";
import { newKeyPair } from "../fixtures/ssh-server";
import { ConfigError, parseModel, type Problem } from "../../components/config";
import { TEST_CLUSTER_SECRET, TEST_KEYS, validRaw } from "../stackConfig";

type Raw = Record<string, any>;

function problemsOf(raw: Raw): Problem[] {
  try {
    parseModel(raw, {});
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

const clone = <T>(v: T): T => structuredClone(v);
const SHA512 = "ab".repeat(64);
const aws = () => validRaw("aws");
/** A throwaway ECDSA key pair (a type EC2 does not import), used nowhere but this test. */
const ECDSA_PRIVATE = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS
1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQSqdyVz2UZtcdZ353ds5OdVI2Rqo7wD
51xQDI9vNFT3vXmjSe+8t2znu5wzysDm9hwQduGcXPHWj+uGUkpq6lf0AAAAoCdgY/UnYG
P1AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKp3JXPZRm1x1nfn
d2zk51UjZGqjvAPnXFAMj280VPe9eaNJ77y3bOe7nDPKwOb2HBB24Zxc8daP64ZSSmrqV/
QAAAAgVifONrvO/UE1TblIqL2Hd9+3r0MCEruyToNIzAj9oAwAAAABdAECAwQFBgc=
-----END OPENSSH PRIVATE KEY-----\n`;
/** Its public line. */
const ECDSA_PUB = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKp3JXPZRm1x1nfnd2zk51UjZGqjvAPnXFAMj280VPe9eaNJ77y3bOe7nDPKwOb2HBB24Zxc8daP64ZSSmrqV/Q= t";
const bm = () => validRaw("baremetal");
const OTHER_KEY = newKeyPair().private;
const ENCRYPTED_KEY = newKeyPair({ passphrase: "pw", cipher: "aes256-ctr", rounds: 4 }).private;

interface Case {
  name: string;
  raw: () => Raw;
  key: string;
  /** Extra text the message must contain (the bad value or the hint). */
  says?: RegExp;
}

const with_ = (base: () => Raw, edit: (r: Raw) => void) => () => {
  const r = clone(base());
  edit(r);
  return r;
};

const CASES: Case[] = [
  { name: "provider missing", raw: with_(aws, (r) => delete r.provider), key: "provider", says: /missing; use one of aws, gcp/ },
  { name: "unknown provider", raw: with_(aws, (r) => (r.provider = "azure")), key: "provider", says: /"azure" is not allowed; use one of aws, gcp, digitalocean, openstack, baremetal, local/ },
  { name: "missing provider block", raw: with_(aws, (r) => delete r.aws), key: "aws", says: /missing provider block.*elastic-mesos:aws/ },
  { name: "even master count", raw: with_(aws, (r) => (r.masters = { count: 4 })), key: "masters.count", says: /4 is not allowed; use 1, 3 or 5: an even count/ },
  { name: "master count 7", raw: with_(aws, (r) => (r.masters = { count: 7 })), key: "masters.count", says: /7 is not allowed; use 1, 3 or 5/ },
  { name: "master count as text", raw: with_(aws, (r) => (r.masters = { count: "3" })), key: "masters.count", says: /"3" is not allowed/ },
  { name: "master disk too small", raw: with_(aws, (r) => (r.masters = { diskGb: 5 })), key: "masters.diskGb", says: /5 is not allowed; use a whole number from 10 to 16384/ },
  { name: "typo in masters", raw: with_(aws, (r) => (r.masters = { count: 3, sizes: "m6i.large" })), key: "masters.sizes", says: /unknown key; allowed keys in masters: count, size, image, diskGb/ },
  { name: "typo in a top-level key", raw: with_(aws, (r) => (r.agentPool = [])), key: "agentPool", says: /unknown key/ },
  { name: "duplicate pool names", raw: with_(aws, (r) => r.agentPools.push({ name: "general", count: 1 })), key: "agentPools[1].name", says: /"general" is not allowed; pool names must be unique; "general" is also agentPools\[0\].name/ },
  { name: "negative pool count", raw: with_(aws, (r) => r.agentPools.push({ name: "gpu", count: -2 })), key: "agentPools[1].count", says: /^-2 is not allowed; use a whole number from 0 to 1000$/ },
  { name: "pool count above 1000", raw: with_(aws, (r) => (r.agentPools[0].count = 1001)), key: "agentPools[0].count", says: /1001 is not allowed/ },
  { name: "fractional pool count", raw: with_(aws, (r) => (r.agentPools[0].count = 2.5)), key: "agentPools[0].count", says: /2.5 is not allowed/ },
  { name: "pool count missing on a cloud", raw: with_(aws, (r) => delete r.agentPools[0].count), key: "agentPools[0].count", says: /missing; use a whole number from 0 to 1000/ },
  { name: "pool name not a DNS label", raw: with_(aws, (r) => (r.agentPools[0].name = "GPU_pool")), key: "agentPools[0].name", says: /"GPU_pool" is not allowed; use a DNS label/ },
  { name: "pool name too long for hostnames", raw: with_(aws, (r) => { r.cluster = { name: "a".repeat(40) }; r.agentPools[0].name = "b".repeat(20); }), key: "agentPools[0].name", says: /exceed 63 characters; use a pool name of at most 17/ },
  { name: "malformed admin CIDR", raw: with_(aws, (r) => (r.adminCidrs = ["10.0.0.0/33"])), key: "adminCidrs[0]", says: /"10.0.0.0\/33" is not allowed; use a CIDR/ },
  { name: "admin CIDR 0.0.0.0/0 without opt-in", raw: with_(aws, (r) => (r.adminCidrs = ["0.0.0.0/0"])), key: "adminCidrs[0]", says: /^"0\.0\.0\.0\/0" is not allowed; it opens SSH, Mesos and Marathon to the whole internet; use your own range \(e\.g\. 203\.0\.113\.7\/32\), or set allowPublicAdmin to true if you really mean it$/ },
  { name: "admin CIDR ::/0 without opt-in", raw: with_(aws, (r) => (r.adminCidrs = ["203.0.113.0/24", "::/0"])), key: "adminCidrs[1]", says: /"::\/0" is not allowed/ },
  { name: "admin CIDR 0.0.0.0/1 (half the internet) without opt-in", raw: with_(aws, (r) => (r.adminCidrs = ["0.0.0.0/1"])), key: "adminCidrs[0]", says: /^"0\.0\.0\.0\/1" is not allowed; it opens SSH, Mesos and Marathon to 2\^31 IPv4 addresses of public address space \(a \/1; .*at most a \/16.*; use your own range \(e\.g\. 203\.0\.113\.7\/32\), or set allowPublicAdmin to true/ },
  { name: "admin CIDR 128.0.0.0/1 next to a private range", raw: with_(aws, (r) => (r.adminCidrs = ["10.0.0.0/8", "128.0.0.0/1"])), key: "adminCidrs[1]", says: /"128\.0\.0\.0\/1" is not allowed; .*public address space.*allowPublicAdmin/ },
  { name: "public IPv4 admin CIDR wider than /16", raw: with_(aws, (r) => (r.adminCidrs = ["198.18.0.0/15"])), key: "adminCidrs[0]", says: /a \/15; without allowPublicAdmin a public admin range may be at most a \/16/ },
  { name: "admin CIDR covering private and public space", raw: with_(aws, (r) => (r.adminCidrs = ["10.0.0.0/7"])), key: "adminCidrs[0]", says: /public address space \(a \/7/ },
  { name: "public IPv6 admin CIDR wider than /48", raw: with_(aws, (r) => (r.adminCidrs = ["2001:db8::/32"])), key: "adminCidrs[0]", says: /"2001:db8::\/32" is not allowed; .*2\^96 IPv6 addresses.*at most a \/48.*; use your own range \(e\.g\. 2001:db8:1234::\/48\), or set allowPublicAdmin to true/ },
  { name: "IPv6 global unicast 2000::/3 without opt-in", raw: with_(aws, (r) => (r.adminCidrs = ["2000::/3"])), key: "adminCidrs[0]", says: /allowPublicAdmin/ },
  { name: "IPv6 admin CIDR with host bits", raw: with_(aws, (r) => (r.adminCidrs = ["2001:db8:1234::1/48"])), key: "adminCidrs[0]", says: /host bits are set; use 2001:db8:1234::\/48/ },
  { name: "admin CIDR with host bits", raw: with_(aws, (r) => (r.adminCidrs = ["203.0.113.7/24"])), key: "adminCidrs[0]", says: /host bits are set; use 203.0.113.0\/24/ },
  { name: "no admin CIDRs", raw: with_(aws, (r) => (r.adminCidrs = [])), key: "adminCidrs", says: /list at least one CIDR/ },
  { name: "adminCidrs missing", raw: with_(aws, (r) => delete r.adminCidrs), key: "adminCidrs", says: /missing/ },
  { name: "allowPublicAdmin not a boolean", raw: with_(aws, (r) => (r.allowPublicAdmin = "yes")), key: "allowPublicAdmin", says: /"yes" is not allowed; use true or false/ },
  { name: "bad SSH public key", raw: with_(aws, (r) => (r.ssh.publicKey = "ssh-ed25519 AAAAnotakey me@laptop")), key: "ssh.publicKey", says: /not an OpenSSH public key/ },
  { name: "private key given as public key", raw: with_(aws, (r) => (r.ssh.publicKey = TEST_KEYS.private)), key: "ssh.publicKey", says: /PRIVATE key/ },
  { name: "public key missing on a cloud", raw: with_(aws, (r) => delete r.ssh), key: "ssh.publicKey", says: /missing; provider aws needs the public key/ },
  { name: "bad ssh user", raw: with_(aws, (r) => (r.ssh.user = "Root User")), key: "ssh.user", says: /use a Linux user name/ },
  { name: "clusterSecret missing", raw: with_(aws, (r) => delete r.clusterSecret), key: "clusterSecret", says: /`openssl rand -base64 32 \| pulumi config set --secret elastic-mesos:clusterSecret`/ },
  { name: "clusterSecret too short", raw: with_(aws, (r) => (r.clusterSecret = "hunter2")), key: "clusterSecret", says: /at least 16 characters/ },
  { name: "previousClusterSecret the same as clusterSecret", raw: with_(bm, (r) => (r.previousClusterSecret = r.clusterSecret)), key: "previousClusterSecret", says: /it is clusterSecret itself: .*`pulumi config rm elastic-mesos:previousClusterSecret`/ },
  { name: "previousClusterSecret too short", raw: with_(bm, (r) => (r.previousClusterSecret = "hunter2")), key: "previousClusterSecret", says: /the secret the cluster ran with \(at least 16 characters\)/ },
  { name: "sshPrivateKey missing on baremetal", raw: with_(bm, (r) => delete r.sshPrivateKey), key: "sshPrivateKey", says: /installs the hosts over SSH/ },
  { name: "sshPrivateKey missing on aws", raw: with_(aws, (r) => delete r.sshPrivateKey), key: "sshPrivateKey", says: /^missing; `pulumi up` waits for the cluster to be healthy by checking the masters over SSH; set the key with `pulumi config set --secret elastic-mesos:sshPrivateKey < ~\/.ssh\/id_ed25519`$/ },
  { name: "sshPrivateKey missing on gcp", raw: with_(() => validRaw("gcp"), (r) => delete r.sshPrivateKey), key: "sshPrivateKey", says: /checking the masters over SSH/ },
  { name: "sshPrivateKey missing on openstack", raw: with_(() => validRaw("openstack"), (r) => delete r.sshPrivateKey), key: "sshPrivateKey", says: /checking the masters over SSH/ },
  { name: "sshPrivateKey missing on digitalocean", raw: with_(() => validRaw("digitalocean"), (r) => delete r.sshPrivateKey), key: "sshPrivateKey", says: /installs the droplets over SSH.*pulumi config set --secret elastic-mesos:sshPrivateKey/ },
  { name: "sshPrivateKey missing on local", raw: with_(() => validRaw("local"), (r) => delete r.sshPrivateKey), key: "sshPrivateKey", says: /provider local installs the hosts over SSH/ },
  { name: "sshPrivateKey not the half of ssh.publicKey", raw: with_(aws, (r) => (r.sshPrivateKey = OTHER_KEY)), key: "sshPrivateKey", says: /not the private half of ssh.publicKey/ },
  { name: "encrypted sshPrivateKey", raw: with_(bm, (r) => (r.sshPrivateKey = ENCRYPTED_KEY)), key: "sshPrivateKey", says: /encrypted; use a key without passphrase/ },
  { name: "attribute value with a space", raw: with_(aws, (r) => (r.agentPools[0].attributes = { rack: "rack a" })), key: "agentPools[0].attributes.rack", says: /"rack a" is not allowed.*name:value pairs joined by ';'/ },
  { name: "attribute value with ';'", raw: with_(aws, (r) => (r.agentPools[0].attributes = { rack: "a;b:c" })), key: "agentPools[0].attributes.rack", says: /no spaces, ';', ':' or ','/ },
  { name: "attribute value not text or number", raw: with_(aws, (r) => (r.agentPools[0].attributes = { ssd: true })), key: "agentPools[0].attributes.ssd", says: /true is not allowed/ },
  { name: "attribute name starting with a digit", raw: with_(aws, (r) => (r.agentPools[0].attributes = { "9rack": "a" })), key: 'agentPools[0].attributes["9rack"]', says: /the name "9rack" is not allowed; attribute names start with a letter.*rack9, not 9rack/ },
  { name: "ports include SSH", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[22-22,31000-32000]" })), key: "agentPools[0].resources.ports", says: /range 22-22 includes 22, and 22 is SSH's port; give tasks ports no cluster service uses, such as "\[31000-32000\]"/ },
  { name: "ports include the Mesos agent's port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[5051-5051]" })), key: "agentPools[0].resources.ports", says: /5051 is the Mesos agent's port/ },
  { name: "ports include the Mesos master's port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[31000-32000,5000-5060]" })), key: "agentPools[0].resources.ports", says: /range 5000-5060 includes 5050, and 5050 is the Mesos master's port/ },
  { name: "ports include ZooKeeper's client port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[1025-2200]" })), key: "agentPools[0].resources.ports", says: /2181 is ZooKeeper's client port/ },
  { name: "ports include ZooKeeper's TLS client port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[2281-2281]" })), key: "agentPools[0].resources.ports", says: /2281 is ZooKeeper's TLS client port/ },
  { name: "ports include ZooKeeper's peer port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[2800-2900]" })), key: "agentPools[0].resources.ports", says: /2888 is ZooKeeper's peer port/ },
  { name: "ports include ZooKeeper's election port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[3888-3890]" })), key: "agentPools[0].resources.ports", says: /3888 is ZooKeeper's leader-election port/ },
  { name: "ports include Marathon's HTTP port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[8000-8100]" })), key: "agentPools[0].resources.ports", says: /8080 is Marathon's HTTP port/ },
  { name: "ports include Marathon's HTTPS port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[8443-8443]" })), key: "agentPools[0].resources.ports", says: /8443 is Marathon's HTTPS port/ },
  { name: "ports include Marathon's libprocess port", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[15000-16000]" })), key: "agentPools[0].resources.ports", says: /15050 is Marathon's libprocess port/ },
  { name: "pool name longer than the bootstrap's 40", raw: with_(aws, (r) => (r.agentPools[0].name = "p".repeat(41))), key: "agentPools[0].name", says: /use a DNS label of 1 to 40 characters/ },
  { name: "local: more machines than maxHosts (refused, not capped)", raw: with_(() => validRaw("local"), (r) => { r.agentPools = [{ name: "general", count: 9 }]; }), key: "local.maxHosts", says: /asks for 12 machines on this machine and local\.maxHosts is 6; lower masters\.count or agentPools\[i\]\.count, or raise local\.maxHosts/ },
  { name: "local: egress proxy without aptProxy", raw: with_(() => validRaw("local"), (r) => { r.local = { egress: "proxy" }; }), key: "local.aptProxy", says: /egress is proxy, so the machines need an apt proxy: set local\.aptProxy/ },
  { name: "local: bridge name too long", raw: with_(() => validRaw("local"), (r) => { r.local = { bridge: "elastic-mesos-dev0" }; }), key: "local.bridge", says: /at most 15 lower-case letters/ },
  { name: "local: stateDir relative", raw: with_(() => validRaw("local"), (r) => { r.local = { stateDir: "var/lib/em" }; }), key: "local.stateDir", says: /use an absolute path such as \/var\/lib\/elastic-mesos\/local/ },
  { name: "local: ssh.user other than root", raw: with_(() => validRaw("local"), (r) => { r.ssh = { user: "admin" }; }), key: "ssh.user", says: /local machines have root as their only login/ },
  { name: "local: a baremetal block", raw: with_(() => validRaw("local"), (r) => { r.baremetal = { hosts: [{ address: "10.0.0.1", role: "master" }] }; }), key: "baremetal", says: /provider local creates its own machines on this machine; for hosts you already have, set provider to baremetal/ },
  { name: "testStandIns on a cloud", raw: with_(() => validRaw("aws"), (r) => { r.artifacts = { testStandIns: true, mirror: "http://10.77.0.1:8000", zookeeper: { sha512: "a".repeat(128) } }; }), key: "artifacts.testStandIns", says: /only a local stack may run the project's test stand-ins/ },
  { name: "adminCidrs missing on a cloud", raw: with_(() => validRaw("gcp"), (r) => { delete r.adminCidrs; }), key: "adminCidrs", says: /list at least one CIDR allowed to reach SSH, Mesos and Marathon/ },
  { name: "attribute name with ':'", raw: with_(aws, (r) => (r.agentPools[0].attributes = { "zone:a": "x" })), key: 'agentPools[0].attributes["zone:a"]', says: /the name "zone:a" is not allowed/ },
  { name: "resource name upper-case", raw: with_(aws, (r) => (r.agentPools[0].resources = { CPUs: 4 })), key: "agentPools[0].resources.CPUs", says: /the name "CPUs" is not allowed; resource names/ },
  { name: "zero cpus", raw: with_(aws, (r) => (r.agentPools[0].resources = { cpus: 0 })), key: "agentPools[0].resources.cpus", says: /0 is not allowed; use a positive number/ },
  { name: "negative mem", raw: with_(aws, (r) => (r.agentPools[0].resources = { mem: -512 })), key: "agentPools[0].resources.mem", says: /-512 is not allowed/ },
  { name: "mem as text", raw: with_(aws, (r) => (r.agentPools[0].resources = { mem: "[1-2]" })), key: "agentPools[0].resources.mem", says: /mem is a scalar; use a positive number of MB/ },
  { name: "ports without brackets", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "31000-32000" })), key: "agentPools[0].resources.ports", says: /"31000-32000" is not allowed/ },
  { name: "ports range reversed", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[32000-31000]" })), key: "agentPools[0].resources.ports", says: /starts after it ends/ },
  { name: "ports beyond 65535", raw: with_(aws, (r) => (r.agentPools[0].resources = { ports: "[31000-70000]" })), key: "agentPools[0].resources.ports", says: /beyond 65535/ },
  { name: "fractional gpus", raw: with_(aws, (r) => (r.agentPools[0].resources = { gpus: 1.5 })), key: "agentPools[0].resources.gpus", says: /whole number of GPUs/ },
  { name: "docker-only containerizers", raw: with_(aws, (r) => (r.agentPools[0].containerizers = ["docker"])), key: "agentPools[0].containerizers", says: /include "mesos" exactly once/ },
  { name: "unknown containerizer", raw: with_(aws, (r) => (r.agentPools[0].containerizers = ["rkt", "mesos"])), key: "agentPools[0].containerizers[0]", says: /"rkt" is not allowed/ },
  { name: "task user with upper case", raw: with_(aws, (r) => (r.agentPools[0].taskUser = "Tasks")), key: "agentPools[0].taskUser", says: /"Tasks" is not allowed; use a Linux user name such as mesos-task/ },
  { name: "task user too long", raw: with_(aws, (r) => (r.agentPools[0].taskUser = "t".repeat(33))), key: "agentPools[0].taskUser", says: /use a Linux user name/ },
  { name: "task user with a shell character", raw: with_(aws, (r) => (r.agentPools[0].taskUser = "x;rm -rf /")), key: "agentPools[0].taskUser", says: /use a Linux user name/ },
  { name: "task user is the AWS image's login user (a sudoer)", raw: with_(aws, (r) => { delete r.ssh.user; r.agentPools[0].taskUser = "admin"; }), key: "agentPools[0].taskUser", says: /"admin" is not allowed; it is ssh\.user, the login user the bootstrap uses with sudo, so tasks .* could act as root.*use a user of their own such as mesos-task \(or "root" if tasks must run as root\)/ },
  { name: "task user is a bare-metal host's login user", raw: with_(bm, (r) => { r.baremetal.hosts[4].user = "ops"; r.agentPools[1].taskUser = "ops"; }), key: "agentPools[1].taskUser", says: /the login user of baremetal\.hosts\[4\], a sudoer/ },
  { name: "task user is ZooKeeper's", raw: with_(aws, (r) => (r.agentPools[0].taskUser = "zookeeper")), key: "agentPools[0].taskUser", says: /ZooKeeper's service user/ },
  { name: "task user is Docker's group", raw: with_(aws, (r) => (r.agentPools[0].taskUser = "docker")), key: "agentPools[0].taskUser", says: /Docker's group .*root/ },
  { name: "network too small for zones", raw: with_(aws, (r) => (r.network = { cidr: "10.42.0.0/24" })), key: "network.cidr", says: /one \/24 per zone/ },
  { name: "network in public space", raw: with_(aws, (r) => (r.network = { cidr: "8.8.0.0/16" })), key: "network.cidr", says: /use a private range/ },
  { name: "network IPv6", raw: with_(aws, (r) => (r.network = { cidr: "fd00::/8" })), key: "network.cidr", says: /use an IPv4 CIDR/ },
  { name: "AWS VPC larger than /16", raw: with_(aws, (r) => (r.network = { cidr: "10.0.0.0/12" })), key: "network.cidr", says: /AWS VPCs are \/16 at most/ },
  // What the clouds' APIs refuse (their documentation), reported before any resource.
  { name: "GCP pool tag over 63 characters", raw: with_(() => validRaw("gcp"), (r) => { r.cluster = { name: "c".repeat(30) }; r.agentPools[0].name = "p".repeat(20); }), key: "agentPools[0].name", says: /GCP network tag "elastic-mesos-c{30}-pool-p{20}" would exceed the 63 characters GCE allows; use a pool name of at most 13 characters/ },
  { name: "AWS key pair of a type EC2 refuses", raw: with_(aws, (r) => { r.ssh.publicKey = ECDSA_PUB; r.sshPrivateKey = ECDSA_PRIVATE; }), key: "ssh.publicKey", says: /EC2 key pairs take RSA and ED25519 keys only, not ecdsa-sha2-nistp256; use an ed25519 key/ },
  { name: "DigitalOcean VPC outside RFC 1918", raw: with_(() => validRaw("digitalocean"), (r) => (r.network = { cidr: "100.64.0.0/16" })), key: "network.cidr", says: /DigitalOcean VPCs take private ranges only \(RFC 1918/ },
  { name: "DigitalOcean VPC larger than /16", raw: with_(() => validRaw("digitalocean"), (r) => (r.network = { cidr: "10.0.0.0/12" })), key: "network.cidr", says: /DigitalOcean VPCs are \/16 at most/ },
  { name: "no zones", raw: with_(aws, (r) => (r.aws.zones = [])), key: "aws.zones", says: /at least one zone/ },
  { name: "zone of another region", raw: with_(aws, (r) => (r.aws.zones = ["us-east-1a"])), key: "aws.zones[0]", says: /zones must be in region eu-west-1/ },
  { name: "bad AWS region", raw: with_(aws, (r) => (r.aws.region = "Ireland")), key: "aws.region", says: /use an AWS region/ },
  { name: "bad VPC id", raw: with_(aws, (r) => (r.aws.vpcId = "my-vpc")), key: "aws.vpcId", says: /vpc-0123456789abcdef0/ },
  { name: "bad GCP project", raw: with_(() => validRaw("gcp"), (r) => (r.gcp.project = "My Project")), key: "gcp.project", says: /GCP project id/ },
  { name: "bad DigitalOcean region", raw: with_(() => validRaw("digitalocean"), (r) => (r.digitalocean.region = "frankfurt")), key: "digitalocean.region", says: /fra1/ },
  { name: "OpenStack external network missing", raw: with_(() => validRaw("openstack"), (r) => (r.openstack = { region: "RegionOne" })), key: "openstack.externalNetwork", says: /missing/ },
  { name: "local maxHosts zero", raw: with_(() => validRaw("local"), (r) => (r.local.maxHosts = 0)), key: "local.maxHosts", says: /use a whole number from 1 to 240/ },
  { name: "Marathon version with a v", raw: with_(aws, (r) => (r.versions = { marathon: "v1.11.24" })), key: "versions.marathon", says: /without the leading v/ },
  { name: "ZooKeeper 3.7", raw: with_(aws, (r) => (r.versions = { zookeeper: "3.7.2" })), key: "versions.zookeeper", says: /3.8.x or 3.9.x/ },
  { name: "mirror not http(s)", raw: with_(aws, (r) => (r.artifacts = { mirror: "ftp://mirror.example.com" })), key: "artifacts.mirror", says: /use a plain http\(s\) base URL/ },
  { name: "mirror without a ZooKeeper checksum", raw: with_(aws, (r) => (r.artifacts = { mirror: "https://mirror.example.com" })), key: "artifacts.zookeeper.sha512", says: /a mirror is set, so pin/ },
  { name: "mirror and offline bundle both set", raw: with_(aws, (r) => (r.artifacts = { mirror: "https://mirror.example.com/em", offlineBundle: "/srv/bundle", zookeeper: { sha512: SHA512 } })), key: "artifacts.offlineBundle", says: /artifacts\.mirror is set too; pick one: remove artifacts\.mirror .* or remove artifacts\.offlineBundle/ },
  { name: "offline bundle without a ZooKeeper checksum", raw: with_(aws, (r) => (r.artifacts = { offlineBundle: "/srv/bundle" })), key: "artifacts.zookeeper.sha512", says: /an offline bundle is set, so pin/ },
  { name: "ZooKeeper URL without a checksum", raw: with_(aws, (r) => (r.artifacts = { zookeeper: { url: "https://files.example.com/zk.tar.gz" } })), key: "artifacts.zookeeper.sha512", says: /artifacts\.zookeeper\.url is set, so pin/ },
  { name: "offline bundle path with a space", raw: with_(aws, (r) => (r.artifacts = { offlineBundle: "/srv/my bundle", zookeeper: { sha512: SHA512 } })), key: "artifacts.offlineBundle", says: /letters, digits and \. _ - \/ on the hosts/ },
  { name: "mesos aptRepo given as a URL alone", raw: with_(aws, (r) => (r.artifacts = { mesos: { aptRepo: "https://apt.example.com/mesos" } })), key: "artifacts.mesos.aptRepo", says: /a URL alone; an apt source also names the suite and component: "<uri> <suite> <component>", e\.g\. "https:\/\/apt\.example\.com\/mesos bookworm main"/ },
  { name: "docker aptRepo not an apt source", raw: with_(aws, (r) => (r.artifacts = { docker: { aptRepo: "bookworm stable" } })), key: "artifacts.docker.aptRepo", says: /use an apt source "<uri> <suite> <component>"/ },
  { name: "key URL with a shell character", raw: with_(aws, (r) => (r.artifacts = { mesos: { keyUrl: "https://keys.example.com/k.asc;id" } })), key: "artifacts.mesos.keyUrl", says: /without spaces, quotes/ },
  { name: "yum repo with a '$' other than $releasever/$basearch", raw: with_(aws, (r) => (r.artifacts = { mesos: { yumRepo: "https://rpm.example.com/$HOME/" } })), key: "artifacts.mesos.yumRepo", says: /\$releasever and \$basearch are the only/ },
  { name: "one-letter package name", raw: with_(aws, (r) => (r.artifacts = { mesos: { package: "m" } })), key: "artifacts.mesos.package", says: /use a package name/ },
  { name: "short sha512", raw: with_(aws, (r) => (r.artifacts = { zookeeper: { sha512: "abc123" } })), key: "artifacts.zookeeper.sha512", says: /128 hexadecimal characters/ },
  { name: "unsupported OS", raw: with_(aws, (r) => (r.os = "centos-7")), key: "os", says: /use one of debian-12/ },
  { name: "cluster name with upper case", raw: with_(aws, (r) => (r.cluster = { name: "Prod" })), key: "cluster.name", says: /DNS label of 1 to 40/ },
  { name: "baremetal agent without pool", raw: with_(bm, (r) => delete r.baremetal.hosts[3].pool), key: "baremetal.hosts[3].pool", says: /agents need a pool; use one of: general, big/ },
  { name: "baremetal host in an unknown pool", raw: with_(bm, (r) => (r.baremetal.hosts[3].pool = "gpu")), key: "baremetal.hosts[3].pool", says: /"gpu" is not allowed; use the name of an entry of agentPools/ },
  { name: "baremetal master with a pool", raw: with_(bm, (r) => (r.baremetal.hosts[0].pool = "general")), key: "baremetal.hosts[0].pool", says: /masters belong to no pool/ },
  { name: "baremetal with 2 master hosts", raw: with_(bm, (r) => (r.baremetal.hosts[2].role = "agent", r.baremetal.hosts[2].pool = "general")), key: "baremetal.hosts", says: /2 hosts have role master; give exactly 1, 3 or 5/ },
  { name: "baremetal masters.count disagrees with hosts", raw: with_(bm, (r) => (r.masters = { count: 5 })), key: "masters.count", says: /5 is not allowed; baremetal.hosts lists 3 master hosts/ },
  { name: "baremetal pool count disagrees with hosts", raw: with_(bm, (r) => (r.agentPools[0].count = 4)), key: "agentPools[0].count", says: /4 is not allowed; baremetal.hosts lists 2 hosts in pool "general"/ },
  { name: "baremetal duplicate address", raw: with_(bm, (r) => (r.baremetal.hosts[1].address = "10.0.0.11")), key: "baremetal.hosts[1].address", says: /10.0.0.11:22 is also baremetal.hosts\[0\]/ },
  { name: "baremetal duplicate name", raw: with_(bm, (r) => (r.baremetal.hosts[3].name = "big1")), key: "baremetal.hosts[5].name", says: /host names must be unique/ },
  { name: "baremetal agent named like a master's node id", raw: with_(bm, (r) => (r.baremetal.hosts[3].name = "m7")), key: "baremetal.hosts[3].name", says: /"m7" has the form of a master's node id.*use another name/ },
  { name: "baremetal agent named like a positional agent id", raw: with_(bm, (r) => (r.baremetal.hosts[3].name = "general-2")), key: "baremetal.hosts[3].name", says: /"general-2" has the form of the node id earlier releases gave/ },
  { name: "baremetal agent name too long for its hostname", raw: with_(bm, (r) => (r.baremetal.hosts[3].name = "a" + "b".repeat(60))), key: "baremetal.hosts[3].name", says: /hostname "[a-z0-9-]+" would exceed 63 characters; use a name of at most \d+ characters/ },
  { name: "baremetal bad host key fingerprint", raw: with_(bm, (r) => (r.baremetal.hosts[0].hostKeyFingerprint = "MD5:aa:bb")), key: "baremetal.hosts[0].hostKeyFingerprint", says: /SHA256: followed by 43 base64/ },
  { name: "baremetal unknown bastion", raw: with_(bm, (r) => (r.baremetal.hosts[0].bastion = "jump")), key: "baremetal.hosts[0].bastion", says: /baremetal.bastions/ },
  { name: "baremetal agent with replaces", raw: with_(bm, (r) => (r.baremetal.hosts[3].replaces = "10.0.0.99")), key: "baremetal.hosts[3].replaces", says: /only a master replaces a machine; an agent is replaced by removing its entry/ },
  { name: "baremetal master replacing its own address", raw: with_(bm, (r) => (r.baremetal.hosts[0].replaces = "10.0.0.11")), key: "baremetal.hosts[0].replaces", says: /names the lost machine's address, not this host's own \(10\.0\.0\.11\); remove replaces/ },
  { name: "baremetal master replacing a listed host", raw: with_(bm, (r) => (r.baremetal.hosts[0].replaces = r.baremetal.hosts[1].address)), key: "baremetal.hosts[0].replaces", says: /is baremetal.hosts\[1\], still in the cluster/ },
  { name: "baremetal replaces not an IPv4 address", raw: with_(bm, (r) => (r.baremetal.hosts[0].replaces = "old-m1")), key: "baremetal.hosts[0].replaces", says: /use the IPv4 address the master had on the machine it replaces/ },
  { name: "baremetal lost master still listed", raw: with_(bm, (r) => (r.baremetal.lostMasters = ["10.0.0.99", r.baremetal.hosts[2].address])), key: "baremetal.lostMasters[1]", says: /is baremetal.hosts\[2\], still in the cluster; lostMasters names the machines of removed masters/ },
  { name: "baremetal lost master not an address", raw: with_(bm, (r) => (r.baremetal.lostMasters = ["m5"])), key: "baremetal.lostMasters[0]", says: /use the IPv4 address the lost master had/ },
  { name: "baremetal bad address", raw: with_(bm, (r) => (r.baremetal.hosts[0].address = "10.0.0.300")), key: "baremetal.hosts[0].address", says: /"10.0.0.300" is not allowed; use the host's IPv4 address/ },
  { name: "baremetal host by DNS name", raw: with_(bm, (r) => (r.baremetal.hosts[3].address = "node21.example.com")), key: "baremetal.hosts[3].address", says: /"node21\.example\.com" is not allowed; use the host's IPv4 address, such as 10\.0\.0\.11: the cluster addresses its hosts by IPv4.*works for a bastion/ },
  { name: "baremetal host by IPv6 address", raw: with_(bm, (r) => (r.baremetal.hosts[0].address = "2001:db8::11")), key: "baremetal.hosts[0].address", says: /use the host's IPv4 address/ },
  { name: "baremetal bad port", raw: with_(bm, (r) => (r.baremetal.hosts[0].port = 70000)), key: "baremetal.hosts[0].port", says: /1 to 65535/ },
  { name: "baremetal bad role", raw: with_(bm, (r) => (r.baremetal.hosts[0].role = "boss")), key: "baremetal.hosts[0].role", says: /use "master" or "agent"/ },
  { name: "baremetal without hosts", raw: with_(bm, (r) => (r.baremetal.hosts = [])), key: "baremetal.hosts", says: /at least one master host/ },
];

describe("each bad input is one problem naming its key", () => {
  it("covers at least 35 distinct bad inputs", () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(35);
  });

  it.each(CASES)("$name → $key", ({ raw, key, says }) => {
    const problems = problemsOf(raw());
    const hit = problems.filter((p) => p.key === key);
    expect(hit, `problems were: ${JSON.stringify(problems, null, 1)}`).toHaveLength(1);
    if (says) expect(hit[0].message).toMatch(says);
    // Exactly one thing was wrong, so nothing else may be reported.
    expect(problems.map((p) => p.key)).toEqual([key]);
  });
});

describe("URLs with credentials are never echoed in clear", () => {
  const SECRETS = ["hunter2", "tok3n-s3cret", "deadbeefsig", "AKIAEXAMPLE", "azure-sas-sig", "oauth-t0ken"];
  const messageOf = (raw: Raw): string => {
    try {
      parseModel(raw, {});
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error("expected a ConfigError");
  };

  it.each([
    ["artifacts.mirror", { mirror: "https://user:hunter2@mirror.example.com/em?token=tok3n-s3cret", zookeeper: { sha512: SHA512 } }, '"https://***@mirror.example.com/em?token=***"', /use a plain http\(s\) base URL/],
    ["artifacts.mesos.aptRepo", { mesos: { aptRepo: "https://user:hunter2@apt.example.com/mesos?access_token=oauth-t0ken" } }, '"https://***@apt.example.com/mesos?access_token=***"', /"<uri> <suite> <component>", e\.g\./],
    ["artifacts.zookeeper.url", { zookeeper: { url: "https://s3.example.com/zk.tgz?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefsig;x", sha512: SHA512 } }, '"https://s3.example.com/zk.tgz?X-Amz-Credential=***&X-Amz-Signature=***"', /use an http\(s\) URL without/],
    ["artifacts.docker.yumRepo", { docker: { yumRepo: "https://u:hunter2@blob.example.com/r?sv=2024&sig=azure-sas-sig&$x" } }, '"https://***@blob.example.com/r?sv=2024&sig=***', /use an http\(s\) URL without/],
  ] as [string, object, string, RegExp][])("%s: user:password and token parameters are redacted, the key and the fix still named", (key, artifacts, shown, fix) => {
    const raw = { ...aws(), artifacts };
    const problems = problemsOf(raw);
    expect(problems.map((p) => p.key)).toEqual([key]);
    const msg = messageOf(raw);
    expect(msg).toContain(`${key}: ${shown}`);
    expect(problems[0].message).toMatch(fix);
    for (const s of SECRETS) expect(msg).not.toContain(s);
    expect(msg).not.toMatch(/user:hunter|u:hunter/);
  });

  it.each([
    ["artifacts.mesos.keyUrl", { mesos: { keyUrl: "https://user:hunter2@keys.example.com/mesos.asc" } }],
    ["artifacts.zookeeper.url", { zookeeper: { url: "https://s3.example.com/zk.tgz?X-Amz-Signature=deadbeefsig", sha512: SHA512 } }],
    ["artifacts.mesos.aptRepo", { mesos: { aptRepo: "https://u:hunter2@apt.example.com/mesos bookworm main" } }],
    ["artifacts.docker.yumRepo", { docker: { yumRepo: "https://blob.example.com/r/$basearch?sig=azure-sas-sig" } }],
  ] as [string, object][])("%s: an otherwise valid URL carrying a credential is refused (it would sit in plain state)", (key, artifacts) => {
    const raw = { ...aws(), artifacts };
    const problems = problemsOf(raw);
    expect(problems.map((p) => p.key)).toEqual([key]);
    expect(problems[0].message).toMatch(/leave credentials out of the URL .* kept in plain text in the stack state/);
    const msg = messageOf(raw);
    for (const s of SECRETS) expect(msg).not.toContain(s);
  });

  it("a URL inside a value of the wrong type is redacted too", () => {
    const msg = messageOf({ ...aws(), artifacts: { mesos: ["https://user:hunter2@apt.example.com/?token=tok3n-s3cret"] } });
    expect(msg).toContain("artifacts.mesos: [\"https://***@apt.example.com/?token=***\"] is not allowed");
    for (const s of SECRETS) expect(msg).not.toContain(s);
  });
});

describe("public admin ranges", () => {
  it("0.0.0.0/1 + 128.0.0.0/1 (the whole internet in two halves) is refused on both halves", () => {
    const problems = problemsOf({ ...aws(), adminCidrs: ["0.0.0.0/1", "128.0.0.0/1"] });
    expect(problems.map((p) => p.key)).toEqual(["adminCidrs[0]", "adminCidrs[1]"]);
    for (const p of problems) expect(p.message).toMatch(/allowPublicAdmin to true/);
  });

  it("::/1 + 8000::/1 is refused on both halves", () => {
    expect(problemsOf({ ...aws(), adminCidrs: ["::/1", "8000::/1"] }).map((p) => p.key)).toEqual(["adminCidrs[0]", "adminCidrs[1]"]);
  });

  it.each([
    ["203.0.0.0/16"], ["203.0.113.7/32"], ["2001:db8:1234::/48"], ["2001:db8:1234:5678::/64"], ["10.0.0.0/8"], ["172.16.0.0/12"],
    ["192.168.0.0/16"], ["100.64.0.0/10"], ["127.0.0.0/8"], ["169.254.0.0/16"], ["fc00::/7"], ["fd12:3456::/32"], ["fe80::/10"], ["::1/128"],
  ])("%s is accepted without the opt-in (a /16 or /48 of public space, or private/special space)", (c) => {
    expect(parseModel({ ...aws(), adminCidrs: [c] }, {}).adminCidrs).toEqual([c]);
  });

  it("wide public ranges are accepted with allowPublicAdmin: true", () => {
    const cidrs = ["0.0.0.0/1", "128.0.0.0/1", "2000::/3"];
    expect(parseModel({ ...aws(), adminCidrs: cidrs, allowPublicAdmin: true }, {}).adminCidrs).toEqual(cidrs);
  });
});

describe("all problems are reported together", () => {
  it("collects problems from every key, the provider block and the cross-field rules in one ConfigError", () => {
    const r = aws();
    r.masters = { count: 2 };
    r.agentPools = [{ name: "general", count: -2 }, { name: "general", count: 1, attributes: { rack: "a b" } }];
    r.adminCidrs = ["0.0.0.0/0", "10.0.0.0/33"];
    r.aws.zones = [];
    r.versions = { zookeeper: "3.4" };
    delete r.clusterSecret;
    let err: ConfigError | undefined;
    try {
      parseModel(r, {});
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const keys = err!.problems.map((p) => p.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        "masters.count",
        "agentPools[0].count",
        "agentPools[1].name",
        "agentPools[1].attributes.rack",
        "adminCidrs[0]",
        "adminCidrs[1]",
        "aws.zones",
        "versions.zookeeper",
        "clusterSecret",
      ]),
    );
    expect(keys).toHaveLength(9);
    const lines = err!.message.split("\n");
    expect(lines[0]).toBe("elastic-mesos: 9 problems in stack config");
    expect(lines.slice(1, 10).every((l) => /^ {2}- [\w[\]".]+: /.test(l))).toBe(true);
    expect(err!.message).toContain("agentPools[0].count: -2 is not allowed; use a whole number from 0 to 1000");
    expect(lines[10]).toMatch(/pulumi config set --path 'elastic-mesos:adminCidrs\[0\]' <value>/);
  });

  it("never echoes a secret value, even a bad one", () => {
    const secret = "short-secret";
    const r: Raw = { ...bm(), clusterSecret: secret, sshPrivateKey: "-----BEGIN NONSENSE-----", previousClusterSecret: "old-short" };
    let msg = "";
    try {
      parseModel(r, {});
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("clusterSecret: the value given is not allowed; use at least 16 characters");
    expect(msg).toContain("sshPrivateKey: the value given is not allowed");
    expect(msg).not.toContain(secret);
    expect(msg).not.toContain("NONSENSE");
    expect(msg).toContain("previousClusterSecret: the value given is not allowed");
    expect(msg).not.toContain("old-short");
  });

  it("a valid secret passed only as an Output is accepted (no plain value to check)", async () => {
    const pulumi = await import("@pulumi/pulumi");
    const r = aws();
    delete r.clusterSecret;
    expect(() => parseModel(r, { clusterSecret: pulumi.secret(TEST_CLUSTER_SECRET) })).not.toThrow();
  });
});
