import { connect, createServer, type Socket } from "node:net";

/**
 * A loopback TCP proxy in front of the database, for fault tests: `cut()` drops every connection
 * and refuses new ones, as a database that went away; `restore()` lets them through again.
 * `watchClient`, when given, is asked for a reader for each new connection and sees every byte the
 * client sends (the bench counts SQL statements with it).
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: { watchClient?: () => (chunk: Buffer) => void } = {},
) {
  const sockets = new Set<Socket>();
  let isCut = false;
  const server = createServer((client) => {
    if (isCut) return client.destroy();
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", forget).on("close", forget);
    upstream.on("error", forget).on("close", forget);
    const watch = options.watchClient?.();
    if (watch) client.on("data", watch);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    cut() {
      isCut = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
