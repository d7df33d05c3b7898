/**
 * The load generator's client (bench/http-client.ts) against a plain HTTP
 * server on loopback that holds every request until told to answer: what
 * the load test's figures rest on.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { expect, test } from 'vitest';
import { HttpClient } from '../bench/http-client.js';

/** A server that answers nothing until `answer` is called, and counts the connections it was opened. */
async function holdingServer() {
  const held: ServerResponse[] = [];
  const sockets: Socket[] = [];
  let connections = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => held.push(response));
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    held: () => held.length,
    /** Answers every request held so far. */
    answer: () => {
      for (const response of held.splice(0)) response.end('ok');
    },
    /** Closes every connection, as a node does with idle ones after its keep-alive timeout. */
    drop: () => {
      for (const socket of sockets.splice(0)) socket.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Waits until `what` holds, for at most 5 s. */
const until = async (what: () => boolean, why: string) => {
  const end = Date.now() + 5000;
  while (!what()) {
    if (Date.now() > end) throw new Error(`not within 5 s: ${why}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('an open-loop client opens at most maxConnections, and the requests beyond wait for one, in order', async () => {
  const server = await holdingServer();
  const http = new HttpClient(server.url, 4);
  const order: number[] = [];
  const requests = Array.from({ length: 10 }, (_, i) =>
    http.post('/x', JSON.stringify({ i })).then((a) => {
      order.push(i);
      return a.status;
    }),
  );
  await until(() => server.held() >= 4, 'four requests at the server');
  // Nothing more arrives while the four are held.
  await new Promise((r) => setTimeout(r, 100));
  expect(server.held()).toBe(4);
  expect(server.connections()).toBe(4);
  await until(() => {
    server.answer();
    return order.length === 10;
  }, 'every request answered');
  expect(await Promise.all(requests)).toEqual(Array(10).fill(200));
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(server.connections()).toBe(4);
  http.close();
  await server.close();
});

test('a request waiting for a connection is refused when the client closes', async () => {
  const server = await holdingServer();
  const http = new HttpClient(server.url, 1);
  const first = http.get('/a');
  const second = http.get('/b');
  await until(() => server.held() === 1, 'the first request at the server');
  http.close();
  await expect(second).rejects.toThrow('the client was closed');
  await expect(first).rejects.toThrow('the node closed the connection');
  await server.close();
}, 10_000);

test('a connection the server closed while idle no longer counts against maxConnections', async () => {
  const server = await holdingServer();
  const http = new HttpClient(server.url, 1);
  const first = http.get('/a');
  await until(() => server.held() === 1, 'the first request at the server');
  server.answer();
  expect((await first).status).toBe(200);
  server.drop();
  await new Promise((r) => setTimeout(r, 50));
  const second = http.get('/b');
  await until(() => server.held() === 1, 'the second request at the server');
  server.answer();
  expect((await second).status).toBe(200);
  expect(server.connections()).toBe(2);
  http.close();
  await server.close();
});
