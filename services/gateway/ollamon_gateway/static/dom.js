// Building DOM nodes from data. Text always goes through textContent: model names and
// messages come from Ollama and its users, so they are never parsed as markup.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "title") node.title = String(value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(id, value) {
  const node = typeof id === "string" ? document.getElementById(id) : id;
  if (node) node.textContent = value === undefined || value === null ? "" : String(value);
}

export function replaceChildren(id, children) {
  const node = document.getElementById(id);
  if (node) node.replaceChildren(...children);
}

// Only these values ever become part of a class name.
const LEVELS = new Set(["low", "medium", "high", "critical", "ok", "warn", "bad", "off"]);
export function level(value) {
  return LEVELS.has(value) ? value : "off";
}

export const fmt = {
  ms(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 10000) return `${(value / 1000).toFixed(1)} s`;
    if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
    return `${Math.round(value)} ms`;
  },
  pct(value, digits = 0) {
    return value === null || value === undefined ? "–" : `${Number(value).toFixed(digits)}%`;
  },
  num(value, digits = 1) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  },
  int(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString();
  },
  gb(value) {
    return value === null || value === undefined ? "–" : `${Number(value).toFixed(1)} GB`;
  },
  bytesGb(value) {
    return value ? `${(value / 1024 ** 3).toFixed(1)} GB` : "–";
  },
  time(value) {
    return value ? new Date(value).toLocaleTimeString([], { hour12: false }) : "–";
  },
  ago(value) {
    if (!value) return "–";
    const seconds = Math.max(0, (Date.now() - new Date(value).getTime()) / 1000);
    if (seconds < 60) return `${Math.round(seconds)} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  },
};
