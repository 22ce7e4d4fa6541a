// The gateway's REST API and live stream, as the dashboard uses them.

const BASE = "/api/ai/ollama/performance";
const TOKEN_KEY = "ollamon-api-token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// A refused or failed call: the problem details' reason as the message, and each field
// error of a validation problem (`errors: [{key, message}]`) kept for forms to show.
export class ProblemError extends Error {
  constructor(status, message, fieldErrors = []) {
    super(message);
    this.status = status;
    this.fieldErrors = fieldErrors;
  }
}

function fieldErrorsOf(body) {
  const errors = Array.isArray(body.errors) ? body.errors : [];
  return errors.slice(0, 10).map((e) => (e && typeof e === "object"
    ? { key: String(e.key ?? ""), message: String(e.message ?? e.msg ?? "") }
    : { key: "", message: String(e) }));
}

async function problemOf(response) {
  try {
    const body = await response.json();
    const fieldErrors = fieldErrorsOf(body);
    const detail = body.detail || body.title || `HTTP ${response.status}`;
    const fields = fieldErrors.map((e) => (e.key ? `${e.key}: ${e.message}` : e.message));
    return new ProblemError(response.status, [detail, ...fields].join("; "), fieldErrors);
  } catch {
    return new ProblemError(response.status, `HTTP ${response.status}`);
  }
}

// `path` with `?host=` (or `&host=`) when a host is chosen.
export function withHost(path, host) {
  if (!host) return path;
  return `${path}${path.includes("?") ? "&" : "?"}host=${encodeURIComponent(host)}`;
}

export async function getJson(path) {
  const response = await fetch(`${BASE}${path}`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw await problemOf(response);
  return response.json();
}

// Every state change: JSON only, the token when one is set, and the browser's own
// Origin/Sec-Fetch-Site headers, which the gateway's same-origin guard reads.
export async function sendJson(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await problemOf(response);
  return response.status === 204 ? null : response.json();
}

export function postJson(path, body) {
  return sendJson("POST", path, body);
}

export const EVENT_TYPES = [
  "request", "system", "alert", "score", "lifecycle", "health", "models", "heartbeat", "monitoring",
  "benchmark_progress", "benchmark_run",
];

// EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed that the
// gateway still buffers.
export function openStream(onEvent, onState) {
  const source = new EventSource(`${BASE}/stream`);
  source.onopen = () => onState("live");
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(type, data, Number(message.lastEventId));
    });
  }
  return source;
}
