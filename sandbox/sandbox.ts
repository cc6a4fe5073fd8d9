/**
 * A whole sandbox cluster in one object: API semantics, HTTPS front, persistence, simulated
 * controllers and traffic. `slipway sandbox up`, the demo and the tests all start it this way.
 */
import { SandboxCore } from "./core/api.js";
import { routerCrds } from "./crds/networking.js";
import type { FaultRule } from "./server/faults.js";
import { SandboxHttpServer } from "./server/http-server.js";
import { loadStore, SnapshotWriter } from "./server/persistence.js";
import { ensureCertificates, ensureToken } from "./server/tls.js";

export interface SandboxOptions {
  host?: string;
  port?: number;
  /** Keeps objects, the CA and the token across restarts. */
  stateDir?: string;
  token?: string;
  faults?: FaultRule[];
  /** Seed for simulated traffic and pod behaviour. */
  seed?: number;
}

export class Sandbox {
  readonly core: SandboxCore;
  readonly http: SandboxHttpServer;
  readonly token: string;
  readonly caPem: string;
  private snapshots: SnapshotWriter | undefined;
  private readonly stoppers: (() => void | Promise<void>)[] = [];

  constructor(private readonly options: SandboxOptions = {}) {
    const certs = ensureCertificates(options.stateDir);
    this.token = options.token ?? ensureToken(options.stateDir);
    this.caPem = certs.caPem;
    this.core = new SandboxCore(() => new Date(), loadStore(options.stateDir));
    this.core.bootstrap(routerCrds());
    this.http = new SandboxHttpServer(this.core, {
      token: this.token,
      certs,
      ...(options.host ? { host: options.host } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
    if (options.faults) this.http.faults.set(options.faults);
  }

  get url(): string {
    return this.http.url;
  }

  /** Registers something to stop with the sandbox (simulators, timers). */
  onStop(stop: () => void | Promise<void>): void {
    this.stoppers.push(stop);
  }

  async start(): Promise<string> {
    const url = await this.http.listen();
    if (this.options.stateDir) this.snapshots = new SnapshotWriter(this.options.stateDir, this.core.store);
    return url;
  }

  async stop(): Promise<void> {
    for (const stop of this.stoppers.reverse()) await stop();
    await this.http.close();
    this.snapshots?.close();
  }
}
