/**
 * The README's commands, run as a reader would paste them. A fenced `sh` block preceded by the
 * line `<!-- readme-test -->` runs in bash (`set -e`, so every command must exit 0) from the
 * repository root, with a fresh empty HOME (so a sandbox's kubeconfig and state land there and
 * nothing of this machine's ~/.kube leaks in) and `slipway` / `npx slipway` meaning this
 * checkout's dist/cli/main.js. `<!-- readme-test: sandbox -->` blocks get a fresh test sandbox
 * as their current context instead of starting one. A line commented `# prints: TEXT` must print
 * TEXT (`<...>` stands for any word). Blocks that cannot run here (the demo, a controller
 * serving forever, Helm, Docker) carry no marker. Every ```yaml manifest of the README must also
 * pass a server-side dry run with slipway's CRDs installed (and `rollout lint`, for the Rollout).
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { startTestSandbox } from "../helpers/sandbox.js";

const root = process.cwd();
const cli = join(root, "dist/cli/main.js");
const MARKER = /^<!-- readme-test(?::\s*(sandbox))? -->$/;

interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  sandbox: boolean;
  script: string;
}

/** Marked blocks of a Markdown file: the marker, optional blank lines, then a ```sh fence. */
function markedBlocks(file: string, text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!.trim());
    if (!m) continue;
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() === "") j++;
    if (lines[j]?.trim() !== "```sh")
      throw new Error(`${file}:${i + 1}: readme-test marker not followed by a \`\`\`sh block`);
    const end = lines.indexOf("```", j + 1);
    if (end < 0) throw new Error(`${file}:${j + 1}: unterminated code block`);
    out.push({ file, line: j + 1, sandbox: m[1] === "sandbox", script: lines.slice(j + 1, end).join("\n") });
  }
  return out;
}

/** `# prints: ready https://127.0.0.1:<port>` → a pattern for that output line. */
function expectedOutputs(script: string): RegExp[] {
  return [...script.matchAll(/#\s*prints:\s*(.+)$/gm)].map((m) => {
    const parts = m[1]!.trim().split(/<[^>]+>/);
    return new RegExp(parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\S+"));
  });
}

/** A directory with `slipway` and an `npx` that only runs `slipway`, both this checkout's. */
function shims(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const node = process.execPath;
  writeFileSync(join(bin, "slipway"), `#!/bin/sh\nexec "${node}" "${cli}" "$@"\n`);
  writeFileSync(
    join(bin, "npx"),
    `#!/bin/sh\nif [ "$1" = slipway ]; then shift; exec "${node}" "${cli}" "$@"; fi\necho "README test: npx $* is not run here" >&2\nexit 127\n`,
  );
  for (const f of ["slipway", "npx"]) chmodSync(join(bin, f), 0o755);
  return bin;
}

function bash(
  script: string,
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = execFile(
      "bash",
      ["-c", script],
      { cwd: root, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done({
          code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
          output: `${stdout}${stderr}`,
        }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function runBlock(block: Block): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "slipway-readme-"));
  const env: NodeJS.ProcessEnv = {
    PATH: `${shims(home)}:${process.env.PATH ?? ""}`,
    HOME: home,
    TMPDIR: tmpdir(),
    NO_COLOR: "1",
  };
  const sb = block.sandbox ? await startTestSandbox() : undefined;
  if (sb) env.KUBECONFIG = sb.kubeconfig;
  // Background jobs (a controller) end with the block; a sandbox it detached is stopped after it.
  const script = `set -eo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${block.script}\n`;
  try {
    const { code, output } = await bash(script, env);
    const where = `${block.file}:${block.line}`;
    expect(code, `${where} exited ${code}:\n${output}`).toBe(0);
    for (const pattern of expectedOutputs(block.script))
      expect(output, `${where}: nothing printed matches ${pattern}`).toMatch(pattern);
  } finally {
    await bash(`"${process.execPath}" "${cli}" sandbox down >/dev/null 2>&1 || true`, env);
    await sb?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Every ```yaml block of a Markdown file (indented ones in lists included), dedented. */
function yamlBlocks(text: string): string[] {
  return [...text.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```$/gm)].map((m) =>
    m[2]!
      .split("\n")
      .map((l) => l.slice(m[1]!.length))
      .join("\n"),
  );
}

const files = ["README.md", "examples/README.md"];
const blocks = files.flatMap((f) => markedBlocks(f, readFileSync(join(root, f), "utf8")));

describe("README commands", () => {
  it("finds the marked blocks (quick start, install without Helm, examples)", () => {
    if (!existsSync(cli)) throw new Error("dist/cli/main.js is missing: run `npm run build` first");
    expect(blocks.map((b) => `${b.file}${b.sandbox ? " (sandbox)" : ""}`)).toEqual([
      "README.md",
      "README.md",
      "README.md (sandbox)",
      "README.md (sandbox)",
      "examples/README.md",
    ]);
    expect(() => markedBlocks("x.md", "<!-- readme-test -->\ntext\n")).toThrow(/not followed by/);
  });

  // Each block has its own HOME and sandbox, so they run side by side.
  for (const block of blocks) {
    it.concurrent(`${block.file}:${block.line} runs and exits 0`, { timeout: 300_000 }, () =>
      runBlock(block),
    );
  }

  it("every YAML manifest in README.md is accepted by the API server, and lint accepts the Rollout", async () => {
    const manifests = yamlBlocks(readFileSync(join(root, "README.md"), "utf8"));
    const kinds = manifests.flatMap((y) =>
      parseAllDocuments(y).map((d) => (d.toJSON() as { kind: string }).kind),
    );
    expect(kinds).toEqual(["Application", "Rollout", "AnalysisTemplate", "ApplicationSet", "Secret"]);
    const sb = await startTestSandbox({ simulation: false });
    try {
      const env = { PATH: process.env.PATH ?? "", HOME: sb.dir, KUBECONFIG: sb.kubeconfig };
      const install = await bash(`"${process.execPath}" "${cli}" install`, env);
      expect(install.code, install.output).toBe(0);
      for (const yaml of manifests)
        await sb.kubectlOk(["apply", "--dry-run=server", "-f", "-"], { input: yaml });
      // One stream, so the Rollout's analysis finds its template: not even a warning.
      const lint = await bash(
        `"${process.execPath}" "${cli}" rollout lint -f -`,
        env,
        manifests.slice(1, 3).join("\n---\n"),
      );
      expect(lint.code, lint.output).toBe(0);
      expect(lint.output.trim()).toBe("<stdin>: valid");
    } finally {
      await sb.stop();
    }
  });
});
