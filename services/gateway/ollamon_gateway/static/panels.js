// Rendering of each dashboard panel from the state object (textContent only).

import { fmt, h, replaceChildren, setText } from "./dom.js";
import { hostKey, hostOf, shown } from "./hosts.js";
import { barChart, lineChart, UNITS } from "./timecharts.js";

export function renderStatus(state) {
  const monitoring = state.monitoring;
  const pill = document.getElementById("pill-monitoring");
  if (monitoring) {
    const interval = monitoring.interval_seconds ? ` · ${fmt.num(monitoring.interval_seconds)} s` : "";
    pill.textContent = `${monitoring.active ? "monitoring" : "paused"}${interval}`;
    pill.className = `pill ${monitoring.active ? "ok" : "warn"}`;
  }
  const ollama = Object.values(state.ollama).filter((entry) => shown(state, entry.host));
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
    ollamaPill.title = ollama.map((e) => `${e.host} ${e.ollama_url}: ${e.up ? "up" : e.error_message || "down"}`).join("\n");
  }
  renderGpuPill([...latestByHost(state).values()]);
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

function renderGpuPill(latest) {
  const gpuPill = document.getElementById("pill-gpu");
  if (latest.length === 0) return;
  const gpus = latest.flatMap((system) => system.gpus || []);
  const names = [...new Set(gpus.map((gpu) => gpu.name || `#${gpu.index}`))].join(", ");
  if (latest.length === 1) {
    const system = latest[0];
    gpuPill.textContent = gpus.length
      ? `GPU ${names}`
      : `GPU: ${system.gpu_detection === "cpu_only" ? "none (CPU only)" : system.gpu_detection}`;
  } else {
    const withGpu = latest.filter((system) => (system.gpus || []).length > 0).length;
    gpuPill.textContent = `GPU ${withGpu}/${latest.length} hosts${names ? ` · ${names}` : ""}`;
  }
  gpuPill.className = `pill ${gpus.length ? "ok" : "off"}`;
  gpuPill.title = latest.map((system) =>
    `${system.host}: ${system.gpu_detection_reason || system.gpu_detection}`).join("\n");
}

// The shown samples, one list per host in time order: a chart never joins two hosts' points.
function samplesByHost(state) {
  const groups = new Map();
  for (const sample of state.system) {
    if (!shown(state, sample.host)) continue;
    if (!groups.has(sample.host)) groups.set(sample.host, []);
    groups.get(sample.host).push(sample);
  }
  const time = (sample) => new Date(sample.timestamp).getTime();
  for (const samples of groups.values()) samples.sort((a, b) => time(a) - time(b));
  return new Map([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function latestByHost(state) {
  return new Map([...samplesByHost(state)].map(([host, samples]) => [host, samples.at(-1)]));
}

// A host keeps its colour whatever else is shown: its place among every known host.
export function hostColour(state, host) {
  return Math.max(0, [...state.knownHosts].sort().indexOf(host));
}

const gpuMemoryPercent = (s) =>
  s.gpu_memory_total_gb ? (100 * (s.gpu_memory_used_gb || 0)) / s.gpu_memory_total_gb : null;

const SYSTEM_CHARTS = [
  ["chart-cpu", (s) => s.cpu_usage_percent, (s) => fmt.pct(s.cpu_usage_percent)],
  ["chart-memory", (s) => s.memory_usage_percent,
    (s) => `${fmt.pct(s.memory_usage_percent)} · ${fmt.gb(s.memory_available_gb)} free`],
  ["chart-gpu", (s) => s.gpu_usage_percent, (s) => fmt.pct(s.gpu_usage_percent)],
  ["chart-gpu-memory", gpuMemoryPercent,
    (s) => (s.gpu_memory_total_gb ? `${fmt.gb(s.gpu_memory_used_gb)} / ${fmt.gb(s.gpu_memory_total_gb)}` : "–")],
];

// The host charts share one time range (`state.systemRangeMinutes`) and one cursor.
export function renderSystem(state) {
  const end = Date.now();
  const start = end - state.systemRangeMinutes * 60 * 1000;
  const byHost = samplesByHost(state);
  const hosts = [...byHost.keys()];
  setText("host-label", state.host || (hosts.length > 1 ? `${hosts.length} hosts` : hosts[0] ?? ""));
  for (const [id, pick, describe] of SYSTEM_CHARTS) {
    const series = hosts.map((host) => ({
      name: host,
      index: hostColour(state, host),
      points: byHost.get(host)
        .map((s) => ({ t: new Date(s.timestamp).getTime() / 1000, v: pick(s) }))
        .filter((p) => p.t >= start / 1000),
    }));
    const label = hosts.length === 1
      ? describe(byHost.get(hosts[0]).at(-1))
      : hosts.map((host) => `${host} ${fmt.pct(pick(byHost.get(host).at(-1)))}`).join(" · ");
    lineChart(document.getElementById(id), series, {
      unit: UNITS.percent, max: 100, tMin: start / 1000, tMax: end / 1000, label, sync: "hosts",
    });
  }
  replaceChildren("host-legend", hosts.length > 1
    ? hosts.map((host) => h("span", { class: `legend s${hostColour(state, host) % 6}`, text: host }))
    : []);
}

function scoreLevel(score) {
  if (score === null || score === undefined) return "off";
  return score >= 7 ? "ok" : score >= 4 ? "warn" : "bad";
}

export function renderModels(state) {
  const models = Object.values(state.models).filter((m) => shown(state, hostOf(m))).sort((a, b) =>
    (b.request_count || 0) - (a.request_count || 0) || hostOf(a).localeCompare(hostOf(b)));
  const loaded = state.loaded;
  const rows = models.map((m) => {
    const host = hostOf(m);
    const resident = loaded[hostKey(host, m.model_name)];
    const success = m.request_count ? (100 * m.success_count) / m.request_count : null;
    return h("tr", { "data-host": host, "data-model": m.model_name },
      h("td", { class: "host-only muted", text: host }),
      h("td", { class: "name" },
        h("span", { text: m.model_name, title: m.model_name }),
        resident ? h("span", {
          class: `tag ${resident.partially_offloaded ? "warn" : "ok"}`,
          text: resident.partially_offloaded ? "CPU/GPU split" : "loaded",
          title: `${fmt.bytesGb(resident.size_vram_bytes)} of ${fmt.bytesGb(resident.size_bytes)} in VRAM`,
        }) : null),
      h("td", { class: "n", text: fmt.int(m.request_count) }),
      h("td", { class: `n ${success !== null && success < 95 ? "warn" : ""}`, text: fmt.pct(success, 1) }),
      h("td", { class: "n opt", text: fmt.ms(m.response_time_p50_ms) }),
      h("td", { class: "n", text: fmt.ms(m.response_time_p95_ms) }),
      h("td", { class: "n opt", text: fmt.ms(m.time_to_first_token_p95_ms) }),
      h("td", { class: "n opt", text: fmt.num(m.tokens_per_second_mean) }),
      h("td", { class: `n score ${scoreLevel(m.score)}`, text: fmt.num(m.score) }),
      h("td", { class: "muted opt", text: fmt.ago(m.last_used) }));
  });
  document.querySelector("#models-table tbody").replaceChildren(...rows);
  document.getElementById("models-empty").hidden = rows.length > 0;
  const loadedCount = Object.values(loaded).filter((m) => shown(state, m.host)).length;
  setText("models-loaded", loadedCount ? `${loadedCount} loaded` : "");
  replaceChildren("recommendations", state.recommendations.slice(0, 8).map((r) =>
    h("li", {}, h("code", { text: r.setting }), " ", h("span", { text: r.action }),
      h("div", { class: "muted", text: r.reason }))));
}

export function renderFeed(state) {
  replaceChildren("feed", state.feed.map((r) => h("li", { class: r.error_occurred ? "bad" : "" },
    h("span", { class: "muted", text: fmt.time(r.timestamp) }),
    h("span", { class: "host-only muted", text: r.host, title: r.host }),
    h("span", { class: "model", text: r.model_name, title: r.model_name }),
    h("span", { class: "n", text: fmt.ms(r.response_time_ms) }),
    h("span", { class: "n muted", text: r.tokens_per_second ? `${fmt.num(r.tokens_per_second)} tok/s` : (r.error_occurred ? "error" : "") }),
    // An error's message on its own line, wrapped: however long, it never widens the page.
    r.error_message ? h("span", { class: "error", text: r.error_message, title: r.error_message }) : null)));
}

export function renderLifecycle(state) {
  replaceChildren("lifecycle", state.lifecycle.slice(0, 40).map((e) => h("li", { class: `life ${["evicted", "crashed", "out_of_memory"].includes(e.change) ? "warn" : ""}` },
    h("span", { class: "muted", text: fmt.time(e.timestamp) }),
    h("b", { text: e.change }),
    h("span", { class: "model", text: e.model_name }),
    h("span", { class: "host-only muted", text: `@${e.host}` }),
    h("span", { class: "muted", text: e.size_bytes ? `${fmt.bytesGb(e.size_vram_bytes)} VRAM / ${fmt.bytesGb(e.size_bytes)}` : "" }),
    e.partially_offloaded ? h("span", { class: "tag warn", text: "CPU/GPU split" }) : null,
    e.evicted_by ? h("span", { class: "muted", text: `by ${e.evicted_by}` }) : null,
    // crashed / out_of_memory: what Ollama's server log said
    e.detail ? h("span", { class: "error", text: e.detail, title: e.detail }) : null)));
  if (state.lifecycle.length === 0) replaceChildren("lifecycle", [h("li", { class: "empty", text: "No loads or unloads seen." })]);
}

// Requests: every shown host's together per bucket. p95 latency: one line per host (the
// worst model of that host in each bucket), so two hosts' latencies are never joined.
export function renderTrends(state) {
  const byBucket = new Map();
  const worstByHost = new Map();
  for (const point of state.trends) {
    const t = new Date(point.bucket_start).getTime();
    const entry = byBucket.get(t) || { t, requests: 0, errors: 0 };
    entry.requests += point.request_count;
    entry.errors += point.error_count;
    byBucket.set(t, entry);
    if (point.response_time_p95_ms === null || point.response_time_p95_ms === undefined) continue;
    const host = point.host ?? "";
    if (!worstByHost.has(host)) worstByHost.set(host, new Map());
    const buckets = worstByHost.get(host);
    buckets.set(t, Math.max(buckets.get(t) ?? 0, point.response_time_p95_ms));
  }
  const buckets = [...byBucket.values()].sort((a, b) => a.t - b.t);
  const total = buckets.reduce((sum, b) => sum + b.requests, 0);
  // A bar is as wide as the buckets are apart (a minute or an hour, as storage answered).
  const gaps = buckets.slice(1).map((b, i) => (b.t - buckets[i].t) / 1000).filter((gap) => gap > 0);
  const bucketSeconds = gaps.length ? Math.min(...gaps) : state.trendHours > 6 ? 3600 : 60;
  barChart(document.getElementById("chart-trend-requests"),
    buckets.map((b) => ({ t: b.t / 1000, v: b.requests, errors: b.errors })),
    { unit: UNITS.count, label: `${fmt.int(total)} total`, bucketSeconds });
  const hosts = [...worstByHost.keys()].sort();
  const series = hosts.map((host) => ({
    name: host || "p95",
    index: hostColour(state, host),
    points: [...worstByHost.get(host)].sort(([a], [b]) => a - b).map(([t, v]) => ({ t: t / 1000, v })),
  }));
  const worst = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v)));
  const end = Date.now() / 1000;
  lineChart(document.getElementById("chart-trend-latency"), series, {
    unit: UNITS.ms, max: 1, tMin: end - state.trendHours * 3600, tMax: end,
    label: worst ? `worst ${fmt.ms(worst)}` : "",
  });
}
