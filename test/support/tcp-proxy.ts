import { connect, createServer, type Socket } from "node:net";

/**
 * A loopback TCP proxy in front of the database, for fault tests: `cut()` drops every connection
 * and refuses new ones, as a database that went away; `silence()` keeps every connection open but
 * forwards nothing either way and accepts new ones that never get an answer, as a network
 * partition; `restore()` lets traffic through again. `watchClient`, when given, is asked for a
 * reader for each new connection and sees every byte the client sends (the bench counts SQL
 * statements with it).
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: { watchClient?: () => (chunk: Buffer) => void } = {},
) {
  const sockets = new Set<Socket>();
  let isCut = false;
  let isSilent = false;
  // What is sent during a silence is lost, as packets are in a partition.
  const forward = (from: Socket, to: Socket) =>
    from.on("data", (chunk) => {
      if (!isSilent) to.write(chunk);
    });
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
    forward(client, upstream);
    forward(upstream, client);
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
    silence() {
      isSilent = true;
    },
    restore() {
      isCut = false;
      isSilent = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
