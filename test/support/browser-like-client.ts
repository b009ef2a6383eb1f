import { type ChildProcess, spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { availableParallelism } from "node:os";

export interface Reply {
  status: number;
  url: string;
  location: string | undefined;
  /** The body, read in the background: the client does not wait for it before going on. */
  body: Promise<string>;
}

/**
 * An HTTP client that behaves as a browser does with redirects: it follows one the moment the
 * response headers arrive, without waiting for the rest of the response. supertest waits for the
 * whole body and so hides a session that is stored only after the headers were sent.
 */
export class BrowserLikeClient {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  private send(method: string, path: string, form?: Record<string, string>): Promise<Reply> {
    const url = new URL(path, this.baseUrl);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = { accept: "text/html", origin: url.origin };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, { method, headers, timeout: 30_000 }, (response) => {
        for (const cookie of response.headers["set-cookie"] ?? []) {
          const [pair = "", ...attributes] = cookie.split(";");
          const separator = pair.indexOf("=");
          const name = pair.slice(0, separator).trim();
          const value = pair.slice(separator + 1).trim();
          const isRemoval = value === "" || attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute));
          if (isRemoval) this.cookies.delete(name);
          else this.cookies.set(name, value);
        }
        const chunks: Buffer[] = [];
        const bodyDone = new Promise<string>((resolveBody, rejectBody) => {
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
          response.on("error", rejectBody);
        });
        bodyDone.catch(() => undefined);
        resolve({
          status: response.statusCode ?? 0,
          url: url.pathname + url.search,
          location: response.headers.location,
          body: bodyDone,
        });
      });
      outgoing.on("timeout", () => outgoing.destroy(new Error(`${method} ${path} timed out`)));
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  }

  /** A GET or a form POST, following redirects at their headers; returns the last reply. */
  async go(method: "GET" | "POST", path: string, form?: Record<string, string>): Promise<Reply> {
    let reply = await this.send(method, path, form);
    for (let hops = 0; reply.status >= 300 && reply.status < 400 && reply.location; hops += 1) {
      if (hops === 10) throw new Error(`too many redirects from ${path}`);
      reply = await this.send("GET", reply.location);
    }
    return reply;
  }
}

/**
 * Keeps all cores but one busy, as on a loaded machine (the test files running beside this one
 * keep a core to share), until stopped; each spinner also stops by itself after `maxSeconds`.
 */
export function keepCpuBusy(maxSeconds = 120): { stop(): void } {
  const spinners: ChildProcess[] = [];
  for (let core = 1; core < Math.max(2, availableParallelism()); core += 1) {
    spinners.push(
      spawn(process.execPath, ["-e", `const end = Date.now() + ${maxSeconds * 1000}; while (Date.now() < end) {}`], {
        stdio: "ignore",
      }),
    );
  }
  return {
    stop() {
      for (const spinner of spinners) spinner.kill("SIGKILL");
    },
  };
}
