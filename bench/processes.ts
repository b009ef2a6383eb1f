// Starting and stopping the servers the bench measures, each as its own process, and reading how
// much memory a process holds (Linux /proc).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface RunningServer {
  name: string;
  pid: number;
  baseUrl: string;
  logFile: string;
  /** Seconds from spawn until the ready path first answered 200. */
  startSeconds: number;
  stop(): Promise<void>;
}

const running = new Set<RunningServer>();

/** A port nobody listens on right now, on loopback. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Only what a server needs from the bench's environment; everything else is passed explicitly. */
export function baseEnvironment(): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "LANG", "TMPDIR"]) {
    const value = process.env[name];
    if (value) kept[name] = value;
  }
  return kept;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Spawns `node <args>` with PORT set to a free port, output to logFile, and waits until
 * GET readyPath on 127.0.0.1 answers 200 (polled every 50 ms, at most timeoutSeconds).
 */
export async function startServer(options: {
  name: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  readyPath?: string;
  timeoutSeconds?: number;
}): Promise<RunningServer> {
  const port = await findFreePort();
  const log = openSync(options.logFile, "a");
  const started = performance.now();
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: { ...options.env, PORT: String(port) },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: RunningServer = {
    name: options.name,
    pid: child.pid ?? -1,
    baseUrl,
    logFile: options.logFile,
    startSeconds: 0,
    stop: async () => {
      running.delete(server);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      if (!(await waitForExit(child, 15_000))) {
        child.kill("SIGKILL");
        await waitForExit(child, 5_000);
      }
    },
  };
  running.add(server);

  const deadline = started + (options.timeoutSeconds ?? 60) * 1000;
  const readyUrl = `${baseUrl}${options.readyPath ?? "/healthz"}`;
  while (!(await answersOk(readyUrl))) {
    if (child.exitCode !== null || child.signalCode !== null || performance.now() > deadline) {
      await server.stop();
      throw new Error(`${options.name} did not start; its output:\n${tailOf(options.logFile)}`);
    }
    await sleep(50);
  }
  server.startSeconds = (performance.now() - started) / 1000;
  return server;
}

/** Stops every server this process started that is still running. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

/** The last lines of a log file, for an error message. */
export function tailOf(file: string, lines = 30): string {
  if (!existsSync(file)) return "(no output)";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

export interface Memory {
  /** Resident set size now, MB. */
  rssMb: number;
  /** The highest resident set size the process has had (VmHWM), MB. */
  peakMb: number;
}

/** Reads a process's memory from /proc; null where that is not available. */
export function readMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kilobytes = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN);
    const rss = kilobytes("VmRSS");
    const peak = kilobytes("VmHWM");
    if (Number.isNaN(rss) || Number.isNaN(peak)) return null;
    return { rssMb: rss / 1024, peakMb: peak / 1024 };
  } catch {
    return null;
  }
}

/** Samples a process's RSS every 100 ms until stopped; returns the highest sample in MB. */
export function sampleMemory(pid: number): { stop(): number | null } {
  let highest: number | null = null;
  const take = () => {
    const memory = readMemory(pid);
    if (memory) highest = Math.max(highest ?? 0, memory.rssMb);
  };
  take();
  const timer = setInterval(take, 100);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return highest;
    },
  };
}
