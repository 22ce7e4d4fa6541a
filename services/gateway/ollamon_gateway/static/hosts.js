// The host dimension: which host the page shows (kept in the URL so it can be linked),
// which hosts exist, and the fleet table. Every host-scoped fetch goes through `scoped`.

import { withHost } from "./api.js";
import { fmt, h, replaceChildren, setText } from "./dom.js";

// The chosen host ("" = every host) and the compared model, from the page's URL.
export function chosenHost() {
  return new URLSearchParams(window.location.search).get("host") || "";
}

export function chosenCompareModel() {
  return new URLSearchParams(window.location.search).get("compare") || "";
}

// Change one query parameter; a new history entry for the host, in place for the rest.
export function setUrlParam(name, value, { push = false } = {}) {
  const url = new URL(window.location.href);
  if (value) url.searchParams.set(name, value);
  else url.searchParams.delete(name);
  if (url.href === window.location.href) return;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

export function scoped(state, path) {
  return withHost(path, state.host);
}

// One key per (host, name): two hosts may run the same model or the same Ollama URL.
export function hostKey(host, name) {
  return `${host ?? ""}\u0000${name}`;
}

// The host a summary row is about (`host`; older storages sent `hosts: [one]`).
export function hostOf(row) {
  if (row.host) return row.host;
  return Array.isArray(row.hosts) && row.hosts.length === 1 ? row.hosts[0] : "";
}

// Whether an event of `host` belongs on the page (every host, or the chosen one).
export function shown(state, host) {
  return !state.host || host === state.host;
}

export function noteHost(state, host) {
  if (!host || state.knownHosts.has(host)) return false;
  state.knownHosts.add(host);
  return true;
}

export function renderHostSelect(state) {
  const select = document.getElementById("host-select");
  const hosts = [...new Set([...state.knownHosts, state.host].filter(Boolean))].sort();
  const options = [h("option", { value: "", text: `all hosts (${state.knownHosts.size})` }),
    ...hosts.map((host) => h("option", { value: host, text: host }))];
  select.replaceChildren(...options);
  select.value = state.host;
}

function ollamaText(entry) {
  if (entry.ollama === undefined || entry.ollama === null) return "–";
  if (typeof entry.ollama === "boolean") return entry.ollama ? "up" : "down";
  const list = Array.isArray(entry.ollama) ? entry.ollama : [entry.ollama];
  if (list.length === 0) return "–";
  const down = list.filter((o) => !o.up).length;
  return down ? `down (${down}/${list.length})` : "up";
}

// The fleet: one row per host from the summary's `hosts`, each a link to that host.
export function renderHosts(state, choose) {
  const rows = Object.values(state.hostSummaries).sort((a, b) => a.host.localeCompare(b.host));
  replaceChildren("hosts-table-body", rows.map((entry) => {
    const system = entry.latest_system;
    const button = h("button", { type: "button", class: "link", text: entry.host, title: `show only ${entry.host}` });
    button.addEventListener("click", () => choose(entry.host));
    const ollama = ollamaText(entry);
    return h("tr", { class: entry.host === state.host ? "chosen" : "", "data-host": entry.host },
      h("td", { class: "name" }, button),
      h("td", { class: ollama.startsWith("down") ? "warn" : "", text: ollama }),
      h("td", { text: entry.gpu_available ? "yes" : "no" }),
      h("td", { class: "n", text: system ? fmt.pct(system.cpu_usage_percent) : "–" }),
      h("td", { class: "n", text: system ? fmt.pct(system.memory_usage_percent) : "–" }),
      h("td", { class: "n", text: fmt.int(entry.request_count) }),
      h("td", { class: `n ${entry.error_count ? "warn" : ""}`, text: fmt.int(entry.error_count) }),
      h("td", { class: `n ${entry.active_alert_count ? "warn" : ""}`, text: fmt.int(entry.active_alert_count) }),
      h("td", { class: "muted", text: fmt.ago(entry.last_seen) }));
  }));
  document.getElementById("hosts-fleet").hidden = rows.length === 0;
  const fleet = state.fleet;
  // Requests only Ollama's server log saw (the probe follows it): they bypassed the proxy.
  const bypassed = rows.reduce((sum, entry) => sum + (entry.bypassed_requests ?? 0), 0);
  const bypassText = bypassed ? ` · ${fmt.int(bypassed)} requests bypassed the proxy` : "";
  setText("fleet-rollup", fleet
    ? `${fleet.hosts_reporting ?? "–"}/${fleet.host_count ?? "–"} reporting · ${fmt.int(fleet.total_requests)} requests · ${fmt.int(fleet.active_alerts)} firing${bypassText}`
    : "");
}
