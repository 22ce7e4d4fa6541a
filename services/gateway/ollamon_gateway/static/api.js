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

// Problem details carry the reason; surface it as the error message.
async function reasonOf(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

export async function getJson(path) {
  const response = await fetch(`${BASE}${path}`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(await reasonOf(response));
  return response.json();
}

export async function postJson(path, body) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(`${BASE}${path}`, {
    method: "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await reasonOf(response));
  return response.json();
}

export const EVENT_TYPES = [
  "request", "system", "alert", "score", "lifecycle", "health", "models", "heartbeat", "monitoring",
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
