/** A thin HTTP client for a Custody node: JSON in and out, refusals as errors with the node's code. */
import { CliError, EXIT } from './exit.js';

export class NodeClient {
  constructor(readonly base: string) {
    const url = URL.canParse(base) ? new URL(base) : undefined;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
      throw new CliError(`--node: ${base} is not a node's address; give one like http://127.0.0.1:8080`);
    }
  }

  private async request(path: string, init?: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.base), { ...init, signal: AbortSignal.timeout(60_000) });
    } catch (e) {
      throw new CliError(
        `cannot reach the node at ${this.base} (${unreachable(e)}); start one with "custody serve" or pass --node`,
        EXIT.usage,
        'CUSTODY_CONNECTION',
      );
    }
    if (!response.ok) {
      let body: { code?: string; message?: string } = {};
      try {
        body = (await response.json()) as typeof body;
      } catch {
        // not JSON: keep the status alone
      }
      // A node that finds its own log damaged has no evidence to give: that is
      // the tampering exit, not a usage error, for whoever scripts around it.
      if (body.code === 'CUSTODY_CORRUPT_STATE') {
        throw new CliError(
          `the node's log is damaged: ${body.message}; its evidence cannot be trusted (audit it, or ask a mirror)`,
          EXIT.invalid,
          body.code,
        );
      }
      // Not found is an answer, not a refusal: say what the node said.
      const said = body.message ?? response.statusText;
      throw new CliError(
        response.status === 404
          ? `${said} (the node answered ${response.status} ${body.code ?? 'error'})`
          : `the node refused (${response.status} ${body.code ?? 'error'}): ${said}`,
        EXIT.usage,
        body.code ?? `HTTP_${response.status}`,
      );
    }
    return response;
  }

  async json<T>(path: string): Promise<T> {
    return (await (await this.request(path)).json()) as T;
  }

  async text(path: string): Promise<string> {
    return (await this.request(path)).text();
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const response = await this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as T;
  }
}

/** Why fetch could not reach a node, in words (fetch itself says only "fetch failed"). */
function unreachable(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer within 60 s';
  switch (e.cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens there';
    case 'ENOTFOUND':
      return 'no such host';
    case 'ECONNRESET':
      return 'the connection was reset';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'the connection timed out';
  }
  if (e.cause?.message === 'bad port')
    return 'fetch will not connect to a port browsers block; choose another';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
