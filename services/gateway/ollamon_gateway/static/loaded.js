// "Loaded now": what each shown host's Ollama holds in memory, from the probe's latest
// models snapshot (`/api/ps`, live event `models`): size, the share in VRAM, the share
// left on the CPU, context length, and when Ollama will unload it.

import { fmt, h, replaceChildren, setText } from "./dom.js";
import { shown } from "./hosts.js";

// Ollama's keep_alive of -1 ("never unload") shows as an expiry centuries ahead.
const NEVER_AFTER_DAYS = 365;

export function expiresIn(expiresAt, now = Date.now()) {
  if (!expiresAt) return "–";
  const seconds = (new Date(expiresAt).getTime() - now) / 1000;
  if (Number.isNaN(seconds)) return "–";
  if (seconds > NEVER_AFTER_DAYS * 86400) return "never";
  if (seconds <= 0) return "now";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function vramShare(model) {
  return model.size_bytes ? Math.min(100, (100 * (model.size_vram_bytes || 0)) / model.size_bytes) : null;
}

function split(share) {
  if (share === null) return "–";
  if (share >= 99.5) return "all on GPU";
  if (share <= 0.5) return "all on CPU";
  return `${fmt.pct(100 - share)} on CPU`;
}

function row(model, multiHost) {
  const share = vramShare(model);
  const gauge = h("meter", {
    class: "vram", min: 0, max: 100, value: share ?? 0, title: `${fmt.pct(share, 1)} of the model in VRAM`,
  });
  return h("li", { "data-host": model.host, "data-model": model.name },
    h("div", { class: "row" },
      h("span", { class: "model", text: model.name, title: model.name }),
      multiHost ? h("span", { class: "muted host-tag", text: `@${model.host}`, title: model.host }) : null,
      h("span", { class: "right muted", text: `expires in ${expiresIn(model.expires_at)}`, "data-field": "expires" })),
    h("div", { class: "facts" },
      h("span", { text: fmt.bytesGb(model.size_bytes), "data-field": "size" }),
      h("span", { text: `${fmt.pct(share)} VRAM`, "data-field": "vram" }),
      gauge,
      h("span", { class: share !== null && share < 99.5 ? "split" : "", text: split(share), "data-field": "split" }),
      model.context_length ? h("span", { class: "muted", text: `ctx ${fmt.int(model.context_length)}` }) : null));
}

export function renderLoaded(state) {
  const snapshots = Object.values(state.snapshots).filter((s) => shown(state, s.host));
  const models = snapshots
    .flatMap((s) => (s.loaded || []).map((m) => ({ ...m, host: s.host })))
    .sort((a, b) => a.host.localeCompare(b.host) || (b.size_bytes || 0) - (a.size_bytes || 0));
  const hosts = new Set(snapshots.map((s) => s.host));
  let empty = null;
  if (snapshots.length === 0) empty = "Waiting for the probe's next look at Ollama (/api/ps).";
  else if (models.length === 0) empty = "No model is loaded.";
  replaceChildren("loaded-list", empty
    ? [h("li", { class: "empty", text: empty })]
    : models.map((model) => row(model, hosts.size > 1)));
  const total = models.reduce((sum, m) => sum + (m.size_bytes || 0), 0);
  setText("loaded-count", models.length ? `${models.length} · ${fmt.bytesGb(total)}` : "");
}
