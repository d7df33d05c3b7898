/**
 * A light HTTP/1.1 load generator for the benchmark and the load test.
 * `fetch` costs about 900 µs of CPU a request on this machine, as much as the
 * node spends on the request itself, and the two share two cores: a figure
 * taken with it measures the client as much as the node. This one keeps
 * plain keep-alive sockets, writes each request in one piece and reads only
 * the status line and Content-Length of the answer.
 */
import { connect, type Socket } from 'node:net';

export interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

interface Pending {
  readonly resolve: (answer: Answer) => void;
  readonly reject: (error: Error) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection carrying one request at a time. */
class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private failure: Error | undefined;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the node closed the connection')));
  }

  get usable(): boolean {
    return this.failure === undefined;
  }

  request(head: string, body: Uint8Array | undefined): Promise<Answer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(body === undefined ? head : Buffer.concat([Buffer.from(head), body]));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.buffered.subarray(0, headEnd).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) {
      this.fail(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const end = headEnd + HEAD_END.length + Number(length);
    if (this.buffered.length < end) return;
    const body = this.buffered.subarray(headEnd + HEAD_END.length, end);
    this.buffered = this.buffered.subarray(end);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve({ status, body });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }
}

/** A request waiting for a connection to come free: handed one, told to open its own, or refused. */
interface Waiter {
  readonly give: (connection: Connection | undefined) => void;
  readonly refuse: (error: Error) => void;
}

/**
 * Connections to one node on 127.0.0.1: a request takes an idle connection
 * or opens one, so an open-loop generator gets as many as it has requests
 * in flight, and closed-loop clients one each, up to `maxConnections`;
 * beyond that a request waits here, in order, for one to come free. Without
 * the limit an open-loop generator whose node stalls for seconds opens a
 * connection a request until its process runs out of file descriptors (one
 * load run did: RELIABILITY.md, the twentieth session), and fails with
 * EMFILE instead of showing the latency the stall caused.
 * The wait is part of the latency a caller times around `post` or `get`.
 */
export class HttpClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Waiter[] = [];
  private readonly port: number;
  private readonly host: string;

  /** `url`: the node's base address, e.g. http://127.0.0.1:4100. */
  constructor(
    url: string,
    private readonly maxConnections = 4096,
  ) {
    const { hostname, port } = new URL(url);
    if (hostname !== '127.0.0.1')
      throw new Error(`the load generator talks to 127.0.0.1 only, not ${hostname}`);
    this.host = `${hostname}:${port}`;
    this.port = Number(port);
  }

  /** `body`: JSON text, or its UTF-8 bytes as they are to be sent (a load generator's, kept outside V8's heap). */
  post(path: string, body: string | Uint8Array): Promise<Answer> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const head = `POST ${path} HTTP/1.1\r\nhost: ${this.host}\r\ncontent-type: application/json\r\ncontent-length: ${bytes.length}\r\n\r\n`;
    return this.send(head, bytes);
  }

  get(path: string): Promise<Answer> {
    return this.send(`GET ${path} HTTP/1.1\r\nhost: ${this.host}\r\n\r\n`, undefined);
  }

  /** Closes every connection; requests still waiting for one are refused. */
  close(): void {
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.idle.length = 0;
    for (const { refuse } of this.waiting.splice(0)) refuse(new Error('the client was closed'));
  }

  private async send(head: string, body: Uint8Array | undefined): Promise<Answer> {
    let connection = this.idle.pop();
    while (connection !== undefined && !connection.usable) {
      // Closed while idle (by the node, after its keep-alive timeout): no longer one of the open.
      this.all.delete(connection);
      connection = this.idle.pop();
    }
    if (connection === undefined && this.all.size >= this.maxConnections) {
      connection = await new Promise<Connection | undefined>((give, refuse) =>
        this.waiting.push({ give, refuse }),
      );
    }
    if (connection === undefined) {
      connection = new Connection(this.port);
      this.all.add(connection);
    }
    try {
      const answer = await connection.request(head, body);
      const next = this.waiting.shift();
      if (next === undefined) this.idle.push(connection);
      else next.give(connection);
      return answer;
    } catch (error) {
      this.all.delete(connection);
      connection.close();
      // One fewer open: the next waiting opens its own.
      this.waiting.shift()?.give(undefined);
      throw error;
    }
  }
}

/**
 * Closed-loop clients, as the benchmark drives a node: each takes the next
 * whole transfer (a chain's events must arrive in order), posts its events
 * one after the other, each when the last was answered, until none is left.
 * Any answer but `status` stops the run. Returns each request's latency in ms.
 */
export async function postTransfers(
  http: HttpClient,
  transfers: readonly (readonly string[])[],
  options: { readonly clients?: number; readonly status?: number } = {},
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const client = async () => {
    for (let transfer = transfers[next++]; transfer !== undefined; transfer = transfers[next++]) {
      for (const body of transfer) {
        const started = performance.now();
        const { status } = await http.post('/v1/events', body);
        if (status !== (options.status ?? 201)) throw new Error(`the node answered ${status}`);
        latencies.push(performance.now() - started);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients ?? 64 }, client));
  return latencies;
}
