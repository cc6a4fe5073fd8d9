/**
 * Shared by the controller-core integration tests: a real sandbox over HTTPS, a KubeConfig for
 * it, fault injection, and polling for an eventual condition.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { writeKubeconfig } from "../../sandbox/kubeconfig.js";
import { Sandbox } from "../../sandbox/sandbox.js";
import type { FaultRule } from "../../sandbox/server/faults.js";
import { setSandboxFaults } from "../helpers/sandbox.js";

export interface TestCluster {
  sandbox: Sandbox;
  kc: KubeConfig;
  kubeconfig: string;
  setFaults(rules: FaultRule[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(prefix: string): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), `slipway-${prefix}-`));
  const kubeconfig = join(dir, "kubeconfig");
  const sandbox = new Sandbox({});
  await sandbox.start();
  writeKubeconfig(kubeconfig, sandbox.url, sandbox.caPem, sandbox.token);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    sandbox,
    kc,
    kubeconfig,
    setFaults: (rules) => setSandboxFaults(sandbox, rules),
    async stop() {
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` every 20 ms until it returns something other than undefined/false. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
