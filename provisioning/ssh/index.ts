// The SSH runner: connect (host keys, bastions, retries), exec/runScript, upload, and the pool.
export * from "./errors";
export * from "./target";
export * from "./hostkey";
export { connect, type ConnectOptions, type SshConnection } from "./connect";
export * from "./exec";
export * from "./upload";
export * from "./pool";
