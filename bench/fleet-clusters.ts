/**
 * A process that hosts many sandbox clusters for the fleet benchmark: `node fleet-clusters.js
 * COUNT LATENCY_MS NAME_PREFIX`. Fifty `slipway sandbox up` processes would cost seconds of start
 * up and gigabytes each run; one process per batch keeps the clusters separate API servers (own
 * port, CA, token, store) at a fraction of that. Every non-watch request is delayed by
 * LATENCY_MS, like a remote API server. Prints one JSON line per cluster (name, server, token,
 * caData), then "ready"; stops on SIGTERM.
 */
import { Sandbox } from "../sandbox/sandbox.js";

const [count = "1", latency = "0", prefix = "cluster"] = process.argv.slice(2);
const latencyMs = Number(latency);
const sandboxes: Sandbox[] = [];

async function main(): Promise<void> {
  for (let i = 0; i < Number(count); i++) {
    const sandbox = new Sandbox({
      host: "127.0.0.1",
      port: 0,
      faults: [{ verbs: ["get", "list", "create", "update", "patch", "delete"], latencyMs }],
    });
    sandboxes.push(sandbox);
    const server = await sandbox.start();
    const name = `${prefix}-${String(i).padStart(2, "0")}`;
    process.stdout.write(
      `${JSON.stringify({ name, server, token: sandbox.token, caData: Buffer.from(sandbox.caPem).toString("base64") })}\n`,
    );
  }
  process.stdout.write("ready\n");
}

process.on("SIGTERM", () => {
  void Promise.all(sandboxes.map((s) => s.stop())).finally(() => process.exit(0));
});
main().catch((error: unknown) => {
  process.stderr.write(`fleet-clusters: ${String(error)}\n`);
  process.exit(1);
});
