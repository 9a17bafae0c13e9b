/**
 * A stand-in for an OpenAI-compatible server, run as its own process on 127.0.0.1 (port 0; prints
 * {"port": N}). POST /v1/chat/completions answers like the real protocol. It is a rule, not a
 * model: asked to explain, it names the colour words; asked to simulate, it counts colour words in
 * each numbered text; with model "broken" it replies with prose where numbers were asked for.
 * GET /requests returns every request it received (headers that matter, and bodies).
 */
import { createServer } from "node:http";

// node --test runs every file under dist/test/: serve only when a test spawns this as its LLM.
if (process.env.SKILLSCOPE_FAKE_LLM !== "1") process.exit(0);

const COLOURS = /\b(red|blue|green)\b/g;
const seen: { authorization: string | null; body: unknown }[] = [];

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/requests") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(seen));
    return;
  }
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    res.statusCode = 404;
    res.end("not found");
    return;
  }
  let raw = "";
  req.on("data", (chunk: Buffer) => (raw += chunk.toString("utf8")));
  req.on("end", () => {
    const body = JSON.parse(raw) as { model: string; messages: { role: string; content: string }[] };
    seen.push({ authorization: req.headers.authorization ?? null, body });
    if (req.headers.authorization !== "Bearer test-key") {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { message: "invalid api key" } }));
      return;
    }
    const ask = body.messages.at(-1)!.content;
    let content: string;
    if (ask.startsWith("Explanation of the neuron:")) {
      const texts = ask.split("\n").filter((l) => /^\d+\. /.test(l)).map((l) => l.replace(/^\d+\. /, ""));
      content = body.model === "broken" ? "These look fairly active to me." : JSON.stringify(texts.map((t) => (t.match(COLOURS) ?? []).length));
    } else {
      content = "The text mentions colour words (red, blue, green); more of them, higher activation.";
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id: "chatcmpl-1", object: "chat.completion", model: body.model, choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] }));
  });
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
