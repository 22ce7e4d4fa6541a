// The dashboard: load history over REST, then follow the live stream.

import { EVENT_TYPES, getJson, openStream, postJson, setToken, token } from "./api.js";
import { h, setText } from "./dom.js";
import {
  renderAlerts, renderFeed, renderLifecycle, renderModels, renderStatus, renderSystem, renderTrends,
} from "./panels.js";

const MAX_SYSTEM_SAMPLES = 720;
const MAX_FEED = 25;
const MAX_HISTORY = 50;

const state = {
  monitoring: null,
  services: {},
  missingServices: [],
  ollama: {},
  system: [],
  models: {},
  loaded: {},
  recommendations: [],
  activeAlerts: {},
  alertHistory: [],
  feed: [],
  lifecycle: [],
  trends: [],
  staleAfterSeconds: 20,
  lastEventId: null,
  errors: new Map(),
};

// Redraw each panel at most once per animation frame, however many events arrive.
const dirty = new Set();
const RENDERERS = {
  status: renderStatus, system: renderSystem, models: renderModels, alerts: renderAlerts,
  feed: renderFeed, lifecycle: renderLifecycle, trends: renderTrends,
};
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

async function load(name, path, apply, panels) {
  try {
    apply(await getJson(path));
    state.errors.delete(name);
  } catch (error) {
    state.errors.set(name, `${name}: ${error.message}`);
  }
  showErrors();
  mark(...panels);
}

const alertKey = (alert) => alert.fingerprint || alert.event_id;

function applySummary(summary) {
  state.monitoring = summary.monitoring;
  for (const entry of summary.ollama || []) state.ollama[entry.ollama_url] = entry;
  state.models = Object.fromEntries(summary.models.map((m) => [m.model_name, m]));
  state.recommendations = summary.recommendations || [];
  state.activeAlerts = Object.fromEntries((summary.active_alerts || []).map((a) => [alertKey(a), a]));
  if (summary.latest_system && state.system.length === 0) state.system.push(summary.latest_system);
  const select = document.getElementById("trend-model");
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "", text: "all models" }),
    ...Object.keys(state.models).sort().map((name) => h("option", { value: name, text: name })));
  select.value = chosen;
}

function applyStatus(status) {
  state.monitoring = status.monitoring;
  state.services = Object.fromEntries(status.services.map((s) => [`${s.service}@${s.host}`, s]));
  state.missingServices = status.missing_services;
  for (const entry of status.ollama) state.ollama[entry.ollama_url] = entry;
}

const loadSummary = () => load("summary", "/summary", applySummary, ["status", "models", "alerts", "system"]);
const loadStatus = () => load("status", "/status", applyStatus, ["status"]);
const loadSystem = () => load("system", "/system?hours=1&limit=720", (r) => { state.system = r.samples; }, ["system", "status"]);
const loadAlerts = () => load("alerts", "/alerts?limit=50", (r) => {
  state.alertHistory = r.alerts;
  state.activeAlerts = Object.fromEntries(r.active.map((a) => [alertKey(a), a]));
}, ["alerts"]);
const loadLifecycle = () => load("lifecycle", "/lifecycle?hours=24&limit=100", (r) => { state.lifecycle = r.events; }, ["lifecycle"]);
function loadTrends() {
  const hours = Number(document.getElementById("trend-hours").value);
  const model = document.getElementById("trend-model").value;
  const params = new URLSearchParams({ hours: String(hours), bucket: hours > 6 ? "hour" : "minute" });
  if (model) params.set("model_name", model);
  return load("trends", `/trends?${params}`, (r) => { state.trends = r.points; }, ["trends"]);
}

let summaryTimer = null;
function refreshSummarySoon() {
  // Percentiles come from storage; refetch shortly after requests settle.
  clearTimeout(summaryTimer);
  summaryTimer = setTimeout(loadSummary, 1500);
}

function onRequest(event) {
  state.feed.unshift(event);
  state.feed.length = Math.min(state.feed.length, MAX_FEED);
  const model = state.models[event.model_name] ||= { model_name: event.model_name, request_count: 0, success_count: 0 };
  model.request_count += 1;
  if (!event.error_occurred) model.success_count += 1;
  model.last_used = event.timestamp;
  refreshSummarySoon();
  mark("feed", "models");
}

function onAlert(alert) {
  if (alert.state === "firing") state.activeAlerts[alertKey(alert)] = alert;
  else delete state.activeAlerts[alertKey(alert)];
  state.alertHistory.unshift(alert);
  state.alertHistory.length = Math.min(state.alertHistory.length, MAX_HISTORY);
  mark("alerts");
}

const HANDLERS = {
  request: onRequest,
  alert: onAlert,
  system(sample) {
    state.system.push(sample);
    if (state.system.length > MAX_SYSTEM_SAMPLES) state.system.splice(0, state.system.length - MAX_SYSTEM_SAMPLES);
    mark("system", "status");
  },
  score(score) {
    const model = state.models[score.model_name] ||= { model_name: score.model_name, request_count: 0, success_count: 0 };
    model.score = score.score;
    mark("models");
  },
  lifecycle(event) { state.lifecycle.unshift(event); mark("lifecycle"); },
  health(health) { state.ollama[health.ollama_url] = health; mark("status"); },
  models(snapshot) {
    state.loaded = Object.fromEntries(snapshot.loaded.map((m) => [m.name, m]));
    mark("models");
  },
  heartbeat(beat) {
    state.services[`${beat.service}@${beat.host}`] = { ...beat, last_heartbeat: beat.timestamp };
    mark("status");
  },
  monitoring(control) {
    state.monitoring = {
      active: control.action === "start",
      interval_seconds: control.interval_seconds ?? state.monitoring?.interval_seconds,
      changed_at: control.timestamp,
    };
    mark("status");
  },
};

function onStreamState(streamState) {
  const pill = document.getElementById("pill-stream");
  pill.textContent = streamState === "live" ? "live" : streamState;
  pill.className = `pill ${streamState === "live" ? "ok" : "warn"}`;
  if (streamState === "live") loadSummary();
}

async function control(action) {
  const result = document.getElementById("control-result");
  result.className = "result";
  result.textContent = "…";
  try {
    result.textContent = await action();
  } catch (error) {
    result.className = "result bad";
    result.textContent = error.message;
  }
}

function wireControls() {
  const tokenInput = document.getElementById("token");
  tokenInput.value = token();
  tokenInput.addEventListener("change", () => setToken(tokenInput.value.trim()));
  document.getElementById("form-token").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("form-monitoring").addEventListener("submit", (e) => {
    e.preventDefault();
    const interval = Number(document.getElementById("interval").value);
    control(async () => {
      state.monitoring = await postJson("/monitoring/start", { interval });
      mark("status");
      return `Monitoring every ${interval} s.`;
    });
  });
  document.getElementById("stop").addEventListener("click", () => control(async () => {
    state.monitoring = await postJson("/monitoring/stop");
    mark("status");
    return "Monitoring stopped.";
  }));
  document.getElementById("form-export").addEventListener("submit", (e) => {
    e.preventDefault();
    const format = document.getElementById("export-format").value;
    control(async () => {
      const reply = await postJson("/export", { format });
      const rows = Object.values(reply.row_counts).reduce((a, b) => a + b, 0);
      return `Exported ${rows} rows to ${reply.path}`;
    });
  });
  document.getElementById("form-cleanup").addEventListener("submit", (e) => {
    e.preventDefault();
    const days = Number(document.getElementById("cleanup-days").value);
    control(async () => {
      const reply = await postJson("/cleanup", { days_to_keep: days });
      const rows = Object.values(reply.deleted).reduce((a, b) => a + b, 0);
      return `Deleted ${rows} rows older than ${days} days.`;
    });
  });
  document.getElementById("trend-hours").addEventListener("change", loadTrends);
  document.getElementById("trend-model").addEventListener("change", loadTrends);
}

function start() {
  wireControls();
  loadStatus();
  loadSystem();
  loadSummary();
  loadAlerts();
  loadLifecycle();
  loadTrends();
  openStream((type, data, id) => {
    state.lastEventId = id;
    HANDLERS[type]?.(data);
  }, onStreamState);
  setInterval(loadStatus, 10000);
  setInterval(loadTrends, 60000);
  setInterval(() => mark("status", "models"), 5000); // ages ("5 s ago") keep moving
  window.ollamon = { state, eventTypes: EVENT_TYPES };
}

start();
