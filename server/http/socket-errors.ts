import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";

/**
 * Makes a socket error (a message over the size limit, invalid UTF-8, a bad frame, a reset) end
 * only that connection, which ws has already closed with the matching code, and cost one log line
 * naming the peer (and the size): it is the peer's doing, not the server's, so no stack trace.
 * Replaces any error listener already on the socket (graphql-ws logs these as internal errors);
 * without one, ws's error event would crash the process.
 */
export function logSocketErrors(socket: WebSocket, request: IncomingMessage, maxBytes: number): void {
  const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
  socket.removeAllListeners("error");
  socket.on("error", (error: Error & { code?: string }) => {
    if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") {
      const declared = declaredMessageBytes(socket);
      const size = declared === undefined ? `more than ${maxBytes} bytes` : `${declared} bytes`;
      process.stderr.write(`skillscope: refused a WebSocket message of ${size} from ${peer} (limit ${maxBytes} bytes)\n`);
    } else {
      process.stderr.write(`skillscope: closed the WebSocket connection from ${peer}: ${error.message}\n`);
    }
  });
}

/**
 * Length the refused message declared (its frames so far, this one included), from ws's frame
 * receiver: ws refuses on the length field before reading the payload and reports no size. ws is
 * pinned; test/reliability/roots.test.ts fails if this stops reading a number.
 */
function declaredMessageBytes(socket: WebSocket): number | undefined {
  const total = (socket as unknown as { _receiver?: { _totalPayloadLength?: unknown } })._receiver?._totalPayloadLength;
  return typeof total === "number" ? total : undefined;
}
