import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** The loopback URL a listening server answers on. */
export const urlOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** Starts a server with `start` (which calls back once it listens) and resolves with it then. */
export function listening(start: (cb: () => void) => Server): Promise<Server> {
  return new Promise((resolve) => {
    const s = start(() => resolve(s));
  });
}

/** Resolves with the server's URL once it listens. */
export function whenListening(server: Server): Promise<string> {
  return new Promise((resolve) => server.once("listening", () => resolve(urlOf(server))));
}

/** Closes a server and every connection still open to it. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
