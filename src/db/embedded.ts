import { type ChildProcess, fork } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface EmbeddedPostgres {
  connectionString: string;
  /** PGlite serves one connection at a time; the pool must not hold more. */
  maxConnections: 1;
  /** All connections share PGlite's one session, prepared statements included. */
  sharedSession: true;
  stop(): Promise<void>;
}

function processScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const compiled = path.join(here, "embedded-process.js");
  return existsSync(compiled) ? compiled : path.join(here, "embedded-process.ts");
}

/**
 * Starts PGlite in a child process with a Postgres socket in front of it.
 * dataDir "memory://" keeps everything in memory (tests); otherwise the directory is created.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Two PGlite processes on one data directory would corrupt it: the second start is refused.
function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, "utf8"));
    if (pid && pid !== process.pid && isRunning(pid)) {
      throw new Error(
        `The embedded database in ${dataDir} is in use by another process (pid ${pid}). Stop it first, or set DATABASE_URL.`,
      );
    }
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  let unlock: () => void = () => {};
  if (dataDir !== "memory://") {
    mkdirSync(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
  }
  const script = processScript();
  const child: ChildProcess = fork(script, [dataDir], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // Running from source (tsx), the child needs the TypeScript loader too.
    execArgv: script.endsWith(".ts") ? ["--import", import.meta.resolve("tsx")] : [],
  });

  const address = await new Promise<string>((resolve, reject) => {
    child.once("exit", unlock);
    const timer = setTimeout(() => reject(new Error("The embedded database did not start within 60 seconds.")), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`The embedded database stopped during start-up (exit code ${code}).`));
    });
    child.on("message", (message: { type: string; address?: string; message?: string }) => {
      if (message.type === "ready" && message.address) {
        clearTimeout(timer);
        resolve(message.address);
      } else if (message.type === "error") {
        clearTimeout(timer);
        reject(new Error(`The embedded database failed to start: ${message.message}`));
      }
    });
  });
  child.removeAllListeners("exit");

  return {
    connectionString: `postgres://postgres@${address}/postgres`,
    maxConnections: 1,
    sharedSession: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          unlock();
          clearTimeout(timer);
          resolve();
        });
        child.send({ type: "stop" });
      }),
  };
}
