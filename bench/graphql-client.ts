/**
 * The benches' GraphQL client: POSTs over node:http keep-alive connections. Not fetch: undici's pool
 * left some requests queued for a whole phase under 200 concurrent clients (p99 = the phase length),
 * and its per-request cost, on the same event loop as an in-process server, was charged to the server.
 */
import { Agent, request } from "node:http";

export interface GraphQLEndpoint {
  /** Server base URL (GraphQL at `${url}/graphql`). */
  url: string;
  token: string;
  /** Keep-alive connections, one per concurrent caller. */
  agent: Agent;
}

export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1024 });
}

/** One GraphQL request; throws on an HTTP status other than 200 or any GraphQL error. */
export async function gql<T>(endpoint: GraphQLEndpoint, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const payload = JSON.stringify({ query, variables });
  const url = new URL(`${endpoint.url}/graphql`);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent: endpoint.agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${endpoint.token}`, "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
  const body = JSON.parse(text) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length || status !== 200) throw new Error(`GraphQL HTTP ${status}: ${body.errors?.[0]?.message ?? "no data"}`);
  return body.data!;
}
