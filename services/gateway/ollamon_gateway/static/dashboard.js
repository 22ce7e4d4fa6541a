// The dashboard: load history over REST, then follow the live stream. With a host chosen
// (`?host=` in the page's URL) every host-scoped fetch carries it and other hosts' events
// are left out.

import { renderAudit, renderDeliveries } from "./alertlog.js";
import { renderAlerts } from "./alerts.js";
import { EVENT_TYPES, getJson, openStream } from "./api.js";
import { wireBenchmarks } from "./benchmarks.js";
import { comparableModels, metricsPath, renderCompare } from "./compare.js";
import { wireControls } from "./controls.js";
import { wireForecasts } from "./forecasts.js";
import { h, setText } from "./dom.js";
import {
  chosenCompareModel, chosenHost, hostKey, hostOf, noteHost, renderHostSelect, renderHosts, scoped,
  setUrlParam,
} from "./hosts.js";
import { activeWithLive, applySnapshot, liveHandlers } from "./live.js";
import { renderLoaded } from "./loaded.js";
import { managementActions } from "./manage.js";
import {
  renderFeed, renderLifecycle, renderModels, renderStatus, renderSystem, renderTrends,
} from "./panels.js";
import { renderSilenceChoices, renderSilences } from "./silences.js";
import { renderThresholds } from "./thresholds.js";
import { chartData } from "./timecharts.js";

// What one host's view holds; emptied when the chosen host changes.
function hostScoped() {
  return {
    system: [],
    models: {},
    recommendations: [],
    activeAlerts: {},
    alertHistory: [],
    feed: [],
    lifecycle: [],
    trends: [],
    compareRows: [],
    deliveries: [],
    audit: [],
  };
}

// The host charts' time ranges (minutes), `?range=` in the page's URL.
const SYSTEM_RANGES = [15, 60, 360, 1440, 10080];
function chosenRange() {
  const range = Number(new URLSearchParams(window.location.search).get("range"));
  return SYSTEM_RANGES.includes(range) ? range : 15;
}

const state = {
  host: chosenHost(),
  systemRangeMinutes: chosenRange(),
  trendHours: 6,
  knownHosts: new Set(),
  hostSummaries: {},
  fleet: null,
  compareModel: chosenCompareModel(),
  monitoring: null,
  services: {},
  missingServices: [],
  ollama: {},
  snapshots: {},
  alertLog: new Map(),
  loaded: {},
  silences: [],
  thresholds: [],
  staleAfterSeconds: 20,
  lastEventId: null,
  errors: new Map(),
  ...hostScoped(),
};

function renderHostsPanel() {
  renderHostSelect(state);
  renderHosts(state, chooseHost);
  renderSilenceChoices(state);
  document.body.classList.toggle("multi-host", !state.host && state.knownHosts.size > 1);
}

// Redraw each panel at most once per animation frame, however many events arrive.
const dirty = new Set();
let actions = null; // the management actions, once the page is wired
let benchmarks = null; // the Benchmarks card, once wired
let forecasts = null; // the Forecasts card, once wired
const RENDERERS = {
  status: renderStatus, system: renderSystem, models: renderModels, feed: renderFeed,
  lifecycle: renderLifecycle, trends: renderTrends, compare: renderCompare, hosts: renderHostsPanel,
  deliveries: renderDeliveries, audit: renderAudit, loaded: renderLoaded,
  alerts: (s) => renderAlerts(s, actions),
  silences: (s) => { renderSilences(s, actions.expire); renderSilenceChoices(s); },
  thresholds: (s) => renderThresholds(s, actions.saveThreshold),
  forecasts: () => forecasts?.redraw(),
};
const ALL_PANELS = Object.keys(RENDERERS);
function mark(...panels) {
  if (dirty.size === 0) requestAnimationFrame(flush);
  for (const panel of panels) dirty.add(panel);
}
function flush() {
  for (const panel of dirty) RENDERERS[panel](state);
  dirty.clear();
  setText("footer", `last event #${state.lastEventId ?? "–"} · ${new Date().toLocaleTimeString([], { hour12: false })}`);
}

function showErrors() {
  const banner = document.getElementById("banner");
  const messages = [...state.errors.values()];
  banner.hidden = messages.length === 0;
  banner.replaceChildren(...messages.map((m) => h("div", { text: m })));
}

// Fetch `path` and apply it, unless the chosen host changed meanwhile.
async function load(name, path, apply, panels) {
  const host = state.host;
  try {
    const reply = await getJson(path);
    if (host !== state.host) return;
    apply(reply);
    state.errors.delete(name);
  } catch (error) {
    if (host !== state.host) return;
    state.errors.set(name, `${name}: ${error.message}`);
  }
  showErrors();
  mark(...panels);
}

function applySummary(summary) {
  state.monitoring = summary.monitoring;
  for (const entry of summary.ollama || []) state.ollama[hostKey(entry.host, entry.ollama_url)] = entry;
  state.models = Object.fromEntries(summary.models.map((m) => [hostKey(hostOf(m), m.model_name), m]));
  state.hostSummaries = Object.fromEntries((summary.hosts || []).map((entry) => [entry.host, entry]));
  for (const host of [...Object.keys(state.hostSummaries), ...summary.models.map(hostOf)]) noteHost(state, host);
  for (const entry of summary.hosts || []) {
    for (const health of entry.ollama || []) state.ollama[hostKey(health.host, health.ollama_url)] ??= health;
  }
  state.fleet = summary.fleet ?? null;
  state.recommendations = summary.recommendations || [];
  state.activeAlerts = activeWithLive(state, summary.active_alerts || []);
  if (summary.latest_system && state.system.length === 0) state.system.push(summary.latest_system);
  const names = [...new Set(summary.models.map((m) => m.model_name))].sort();
  const select = document.getElementById("trend-model");
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "", text: "all models" }),
    ...names.map((name) => h("option", { value: name, text: name })));
  select.value = chosen;
  if (!names.includes(state.compareModel)) {
    state.compareModel = comparableModels(summary.models)[0]?.name ?? "";
  }
}

function applyStatus(status) {
  state.monitoring = status.monitoring;
  state.services = Object.fromEntries(status.services.map((s) => [`${s.service}@${s.host}`, s]));
  state.missingServices = status.missing_services;
  for (const entry of status.ollama) state.ollama[hostKey(entry.host, entry.ollama_url)] = entry;
  for (const snapshot of status.loaded || []) applySnapshot(state, snapshot);
}

const loadStatus = () => load("status", "/status", applyStatus, ["status", "loaded", "models"]);
// Storage thins the range to `limit` samples (each host its share); live samples follow.
function loadSystem() {
  const range = state.systemRangeMinutes;
  const params = new URLSearchParams({ hours: String(range / 60), limit: "1440" });
  return load("system", scoped(state, `/system?${params}`), (r) => {
    if (range === state.systemRangeMinutes) state.system = r.samples;
  }, ["system", "status"]);
}
const loadAlerts = () => load("alerts", scoped(state, "/alerts?limit=50"), (r) => {
  state.alertHistory = r.alerts;
  state.activeAlerts = activeWithLive(state, r.active);
  state.deliveries = r.deliveries || [];
  state.audit = r.audit || [];
}, ["alerts", "deliveries", "audit"]);
// Alerting's own state: every host's silences (the card shows those that apply) and rules.
const loadSilences = () => load("silences", "/silences", (r) => {
  state.silences = Array.isArray(r) ? r : r.silences || [];
}, ["silences"]);
const loadThresholds = () => load("thresholds", "/thresholds", (r) => {
  state.thresholds = Array.isArray(r) ? r : r.thresholds || [];
}, ["thresholds", "silences", "forecasts"]);
const loadLifecycle = () => load("lifecycle", scoped(state, "/lifecycle?hours=24&limit=100"),
  (r) => { state.lifecycle = r.events; }, ["lifecycle"]);
function loadTrends() {
  const hours = Number(document.getElementById("trend-hours").value);
  const model = document.getElementById("trend-model").value;
  const params = new URLSearchParams({ hours: String(hours), bucket: hours > 6 ? "hour" : "minute" });
  if (model) params.set("model_name", model);
  return load("trends", scoped(state, `/trends?${params}`), (r) => {
    state.trends = r.points;
    state.trendHours = hours;
  }, ["trends"]);
}

// The comparison spans every host whichever is chosen: one model's rows per host.
async function loadCompare() {
  const model = state.compareModel;
  if (!model) {
    state.compareRows = [];
    mark("compare");
    return;
  }
  await load("comparison", `${metricsPath(model)}?hours=24`, (r) => {
    if (model !== state.compareModel) return;
    // A storage that answers no rows per host: the page's own rows of that model.
    state.compareRows = r.by_host?.length
      ? r.by_host
      : Object.values(state.models).filter((m) => m.model_name === model);
  }, ["compare"]);
}

async function loadSummary() {
  await load("summary", scoped(state, "/summary"), applySummary,
    ["status", "models", "alerts", "system", "hosts", "compare"]);
  await loadCompare();
}

let summaryTimer = null;
function refreshSummarySoon() {
  // Percentiles come from storage: refetch 1.5 s after the first request since the last
  // fetch. Not after the last request: steady traffic would postpone it for ever.
  if (summaryTimer !== null) return;
  summaryTimer = setTimeout(() => {
    summaryTimer = null;
    loadSummary();
  }, 1500);
}

function loadHostScoped() {
  loadSystem();
  loadSummary();
  loadAlerts();
  loadLifecycle();
  loadTrends();
  benchmarks?.load();
  forecasts?.load();
}

// Show `host` ("" = every host): the URL keeps it, every host-scoped panel starts over.
function chooseHost(host, { push = true } = {}) {
  if (host === state.host) return;
  state.host = host;
  if (push) setUrlParam("host", host, { push: true });
  Object.assign(state, hostScoped());
  state.errors.clear();
  showErrors();
  loadHostScoped();
  mark(...ALL_PANELS);
}

function wireSelectors() {
  document.getElementById("host-select").addEventListener("change", (e) => chooseHost(e.target.value));
  window.addEventListener("popstate", () => chooseHost(chosenHost(), { push: false }));
  document.getElementById("compare-model").addEventListener("change", (e) => {
    state.compareModel = e.target.value;
    setUrlParam("compare", state.compareModel);
    loadCompare();
  });
  document.getElementById("trend-hours").addEventListener("change", loadTrends);
  const range = document.getElementById("system-range");
  range.value = String(state.systemRangeMinutes);
  range.addEventListener("change", () => {
    state.systemRangeMinutes = Number(range.value);
    setUrlParam("range", state.systemRangeMinutes === 15 ? "" : range.value);
    state.system = [];
    mark("system");
    loadSystem();
  });
  document.getElementById("trend-model").addEventListener("change", loadTrends);
}

function onStreamState(streamState) {
  const pill = document.getElementById("pill-stream");
  pill.textContent = streamState === "live" ? "live" : streamState;
  pill.className = `pill ${streamState === "live" ? "ok" : "warn"}`;
  if (streamState === "live") loadSummary();
}

function start() {
  actions = managementActions(state, mark, { silences: loadSilences, thresholds: loadThresholds, alerts: loadAlerts });
  wireControls(state, mark);
  wireSelectors();
  mark("hosts");
  loadStatus();
  loadSilences();
  loadThresholds();
  benchmarks = wireBenchmarks(state);
  forecasts = wireForecasts(state);
  loadHostScoped();
  const handlers = { ...liveHandlers(state, mark, refreshSummarySoon), ...benchmarks.handlers };
  openStream((type, data, id) => {
    state.lastEventId = id;
    handlers[type]?.(data);
  }, onStreamState);
  setInterval(loadStatus, 10000);
  setInterval(loadTrends, 60000);
  setInterval(loadSystem, 60000); // a long range moves on; live samples fill in between
  setInterval(() => { loadSilences(); loadAlerts(); }, 15000); // expiries, deliveries, audit
  setInterval(() => mark("status", "models", "hosts", "loaded"), 5000); // ages, expiries move
  window.ollamon = {
    state, eventTypes: EVENT_TYPES, chartData: (id) => chartData(document.getElementById(id)),
  };
}

start();
