// Rendering of each dashboard panel from the state object (textContent only).

import { barChart, lineChart } from "./charts.js";
import { fmt, h, level, replaceChildren, setText } from "./dom.js";

const SYSTEM_WINDOW_MS = 15 * 60 * 1000;

export function renderStatus(state) {
  const monitoring = state.monitoring;
  const pill = document.getElementById("pill-monitoring");
  if (monitoring) {
    const interval = monitoring.interval_seconds ? ` · ${fmt.num(monitoring.interval_seconds)} s` : "";
    pill.textContent = `${monitoring.active ? "monitoring" : "paused"}${interval}`;
    pill.className = `pill ${monitoring.active ? "ok" : "warn"}`;
  }
  const ollama = Object.values(state.ollama);
  const ollamaPill = document.getElementById("pill-ollama");
  if (ollama.length === 0) {
    ollamaPill.textContent = "Ollama: no data";
    ollamaPill.className = "pill off";
  } else {
    const down = ollama.filter((entry) => !entry.up);
    const versions = [...new Set(ollama.filter((e) => e.version).map((e) => e.version))].join(", ");
    ollamaPill.textContent = down.length
      ? `Ollama down (${down.length}/${ollama.length})`
      : `Ollama up${versions ? ` · v${versions}` : ""}`;
    ollamaPill.className = `pill ${down.length ? "bad" : "ok"}`;
    ollamaPill.title = ollama.map((e) => `${e.ollama_url}: ${e.up ? "up" : e.error_message || "down"}`).join("\n");
  }
  const system = state.system.at(-1);
  const gpuPill = document.getElementById("pill-gpu");
  if (system) {
    const gpus = system.gpus || [];
    gpuPill.textContent = gpus.length
      ? `GPU ${gpus.map((gpu) => gpu.name || `#${gpu.index}`).join(", ")}`
      : `GPU: ${system.gpu_detection === "cpu_only" ? "none (CPU only)" : system.gpu_detection}`;
    gpuPill.className = `pill ${gpus.length ? "ok" : "off"}`;
    gpuPill.title = system.gpu_detection_reason || system.gpu_detection;
  }
  const services = Object.values(state.services).sort((a, b) => a.service.localeCompare(b.service));
  const seen = new Set(services.map((service) => service.service));
  const missing = state.missingServices.filter((name) => !seen.has(name));
  replaceChildren("services", [...services.map((service) => {
    const age = (Date.now() - new Date(service.last_heartbeat).getTime()) / 1000;
    const alive = age < state.staleAfterSeconds;
    return h("span", {
      class: `svc ${alive ? "ok" : "bad"}`,
      text: service.service,
      title: `${service.service}@${service.host} v${service.version} · ${service.state} · last heartbeat ${fmt.ago(service.last_heartbeat)}`,
    });
  }), ...missing.map((name) => h("span", {
    class: "svc bad", text: name, title: `${name}: no heartbeat received`,
  }))]);
}

export function renderSystem(state) {
  const end = Date.now();
  const start = end - SYSTEM_WINDOW_MS;
  const samples = state.system.filter((s) => new Date(s.timestamp).getTime() >= start);
  const latest = state.system.at(-1);
  setText("host-label", latest ? latest.host : "");
  const series = (pick) => samples.map((s) => ({ t: new Date(s.timestamp).getTime(), v: pick(s) }));
  const chart = (id, pick, label, max = 100) =>
    lineChart(document.getElementById(id), series(pick), { max, tMin: start, tMax: end, label });
  chart("chart-cpu", (s) => s.cpu_usage_percent, latest ? fmt.pct(latest.cpu_usage_percent) : "");
  chart("chart-memory", (s) => s.memory_usage_percent,
    latest ? `${fmt.pct(latest.memory_usage_percent)} · ${fmt.gb(latest.memory_available_gb)} free` : "");
  chart("chart-gpu", (s) => s.gpu_usage_percent, latest ? fmt.pct(latest.gpu_usage_percent) : "");
  const gpuMemoryPercent = (s) =>
    s.gpu_memory_total_gb ? (100 * (s.gpu_memory_used_gb || 0)) / s.gpu_memory_total_gb : null;
  chart("chart-gpu-memory", gpuMemoryPercent,
    latest && latest.gpu_memory_total_gb
      ? `${fmt.gb(latest.gpu_memory_used_gb)} / ${fmt.gb(latest.gpu_memory_total_gb)}` : "–");
}

function scoreLevel(score) {
  if (score === null || score === undefined) return "off";
  return score >= 7 ? "ok" : score >= 4 ? "warn" : "bad";
}

export function renderModels(state) {
  const models = Object.values(state.models).sort((a, b) => (b.request_count || 0) - (a.request_count || 0));
  const loaded = state.loaded;
  const rows = models.map((m) => {
    const resident = loaded[m.model_name];
    const success = m.request_count ? (100 * m.success_count) / m.request_count : null;
    return h("tr", {},
      h("td", { class: "name" },
        h("span", { text: m.model_name, title: m.model_name }),
        resident ? h("span", {
          class: `tag ${resident.partially_offloaded ? "warn" : "ok"}`,
          text: resident.partially_offloaded ? "CPU/GPU split" : "loaded",
          title: `${fmt.bytesGb(resident.size_vram_bytes)} of ${fmt.bytesGb(resident.size_bytes)} in VRAM`,
        }) : null),
      h("td", { class: "n", text: fmt.int(m.request_count) }),
      h("td", { class: `n ${success !== null && success < 95 ? "warn" : ""}`, text: fmt.pct(success, 1) }),
      h("td", { class: "n", text: fmt.ms(m.response_time_p50_ms) }),
      h("td", { class: "n", text: fmt.ms(m.response_time_p95_ms) }),
      h("td", { class: "n", text: fmt.ms(m.time_to_first_token_p95_ms) }),
      h("td", { class: "n", text: fmt.num(m.tokens_per_second_mean) }),
      h("td", { class: `n score ${scoreLevel(m.score)}`, text: fmt.num(m.score) }),
      h("td", { class: "muted", text: fmt.ago(m.last_used) }));
  });
  document.querySelector("#models-table tbody").replaceChildren(...rows);
  document.getElementById("models-empty").hidden = rows.length > 0;
  const loadedNames = Object.keys(loaded);
  setText("models-loaded", loadedNames.length ? `${loadedNames.length} loaded` : "");
  replaceChildren("recommendations", state.recommendations.slice(0, 8).map((r) =>
    h("li", {}, h("code", { text: r.setting }), " ", h("span", { text: r.action }),
      h("div", { class: "muted", text: r.reason }))));
}

function alertItem(alert) {
  return h("li", { class: `alert sev-${level(alert.severity)} ${alert.state === "resolved" ? "resolved" : ""}` },
    h("div", { class: "row" },
      h("span", { class: `sev sev-${level(alert.severity)}`, text: alert.severity }),
      h("b", { text: alert.alert_type }),
      alert.model_name ? h("span", { class: "model", text: alert.model_name }) : null,
      h("span", { class: "muted right", text: `${alert.state} · ${fmt.time(alert.timestamp)}` })),
    h("div", { text: alert.message }),
    alert.recommendation ? h("div", { class: "recommendation", text: `→ ${alert.recommendation}` }) : null);
}

export function renderAlerts(state) {
  const active = Object.values(state.activeAlerts).sort(
    (a, b) => ["critical", "high", "medium", "low"].indexOf(a.severity) - ["critical", "high", "medium", "low"].indexOf(b.severity));
  replaceChildren("alerts-active", active.length ? active.map(alertItem) : [h("li", { class: "empty", text: "Nothing firing." })]);
  replaceChildren("alerts-history", state.alertHistory.slice(0, 12).map(alertItem));
  setText("alerts-count", active.length ? `${active.length} firing` : "");
}

export function renderFeed(state) {
  replaceChildren("feed", state.feed.map((r) => h("li", { class: r.error_occurred ? "bad" : "" },
    h("span", { class: "muted", text: fmt.time(r.timestamp) }),
    h("span", { class: "model", text: r.model_name, title: r.model_name }),
    h("span", { class: "n", text: fmt.ms(r.response_time_ms) }),
    h("span", { class: "n muted", text: r.tokens_per_second ? `${fmt.num(r.tokens_per_second)} tok/s` : (r.error_message || "") }))));
}

export function renderLifecycle(state) {
  replaceChildren("lifecycle", state.lifecycle.slice(0, 40).map((e) => h("li", { class: `life ${e.change === "evicted" ? "warn" : ""}` },
    h("span", { class: "muted", text: fmt.time(e.timestamp) }),
    h("b", { text: e.change }),
    h("span", { class: "model", text: e.model_name }),
    h("span", { class: "muted", text: e.size_bytes ? `${fmt.bytesGb(e.size_vram_bytes)} VRAM / ${fmt.bytesGb(e.size_bytes)}` : "" }),
    e.partially_offloaded ? h("span", { class: "tag warn", text: "CPU/GPU split" }) : null,
    e.evicted_by ? h("span", { class: "muted", text: `by ${e.evicted_by}` }) : null)));
  if (state.lifecycle.length === 0) replaceChildren("lifecycle", [h("li", { class: "empty", text: "No loads or unloads seen." })]);
}

export function renderTrends(state) {
  const byBucket = new Map();
  for (const point of state.trends) {
    const t = new Date(point.bucket_start).getTime();
    const entry = byBucket.get(t) || { t, requests: 0, errors: 0, p95: null };
    entry.requests += point.request_count;
    entry.errors += point.error_count;
    if (point.response_time_p95_ms !== null) entry.p95 = Math.max(entry.p95 ?? 0, point.response_time_p95_ms);
    byBucket.set(t, entry);
  }
  const buckets = [...byBucket.values()].sort((a, b) => a.t - b.t);
  const total = buckets.reduce((sum, b) => sum + b.requests, 0);
  barChart(document.getElementById("chart-trend-requests"),
    buckets.map((b) => ({ t: b.t, v: b.requests, bad: b.errors > 0 })), { label: `${fmt.int(total)} total` });
  const worst = buckets.reduce((m, b) => Math.max(m, b.p95 ?? 0), 0);
  lineChart(document.getElementById("chart-trend-latency"), buckets.map((b) => ({ t: b.t, v: b.p95 })),
    { max: 1, label: worst ? `worst ${fmt.ms(worst)}` : "" });
}
