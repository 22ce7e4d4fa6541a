// What each live event does to the state. Every event names its host: the host selector
// learns it, and with one host chosen the others' events change nothing else.

import { hostKey, noteHost, shown } from "./hosts.js";

const MAX_SYSTEM_SAMPLES_PER_HOST = 720;
const MAX_FEED = 25;
const MAX_HISTORY = 50;

const MAX_ALERT_LOG = 1000;

export const alertKey = (alert) => alert.fingerprint || alert.event_id;

// The newest live state of each alert since the page opened (every host's).
export function logAlert(state, alert) {
  const key = alertKey(alert);
  state.alertLog.delete(key);
  state.alertLog.set(key, alert);
  if (state.alertLog.size > MAX_ALERT_LOG) state.alertLog.delete(state.alertLog.keys().next().value);
}

// The alerts firing now: storage's list (which may lag behind the stream by a moment), then
// what the stream has said since the page opened, which is newer.
export function activeWithLive(state, storedActive) {
  const active = Object.fromEntries(storedActive.map((alert) => [alertKey(alert), alert]));
  for (const [key, alert] of state.alertLog) {
    if (!shown(state, alert.host)) continue;
    if (alert.state === "firing") active[key] = alert;
    else delete active[key];
  }
  return active;
}

// Keep each Ollama server's newest models snapshot (from the stream, or from /status when
// the page opens) and the loaded models by (host, model).
export function applySnapshot(state, snapshot) {
  const key = hostKey(snapshot.host, snapshot.ollama_url);
  const known = state.snapshots[key];
  if (known && new Date(known.timestamp) > new Date(snapshot.timestamp)) return;
  state.snapshots[key] = snapshot;
  state.loaded = Object.fromEntries(Object.values(state.snapshots).flatMap((s) =>
    (s.loaded || []).map((m) => [hostKey(s.host, m.name), { ...m, host: s.host }])));
}

function modelRow(state, host, name) {
  return (state.models[hostKey(host, name)] ||= {
    host, model_name: name, request_count: 0, success_count: 0,
  });
}

// Handlers by SSE type. `mark` redraws panels; `refreshSummary` refetches soon.
export function liveHandlers(state, mark, refreshSummary) {
  // Seen a new host: the selector lists it. Then whether the page shows this host.
  const accept = (host) => {
    if (noteHost(state, host)) mark("hosts", "system");
    return shown(state, host);
  };
  return {
    request(event) {
      if (!accept(event.host)) return;
      state.feed.unshift(event);
      state.feed.length = Math.min(state.feed.length, MAX_FEED);
      const model = modelRow(state, event.host, event.model_name);
      model.request_count += 1;
      if (!event.error_occurred) model.success_count += 1;
      model.last_used = event.timestamp;
      refreshSummary();
      mark("feed", "models");
    },
    alert(alert) {
      logAlert(state, alert);
      if (!accept(alert.host)) return;
      if (alert.state === "firing") state.activeAlerts[alertKey(alert)] = alert;
      else delete state.activeAlerts[alertKey(alert)];
      state.alertHistory.unshift(alert);
      state.alertHistory.length = Math.min(state.alertHistory.length, MAX_HISTORY);
      mark("alerts");
    },
    system(sample) {
      if (!accept(sample.host)) return;
      state.system.push(sample);
      const cap = MAX_SYSTEM_SAMPLES_PER_HOST * Math.max(1, state.knownHosts.size);
      if (state.system.length > cap) state.system.splice(0, state.system.length - cap);
      mark("system", "status");
    },
    score(score) {
      if (!accept(score.host)) return;
      modelRow(state, score.host, score.model_name).score = score.score;
      mark("models", "compare");
    },
    lifecycle(event) {
      if (!accept(event.host)) return;
      state.lifecycle.unshift(event);
      mark("lifecycle");
    },
    health(health) {
      accept(health.host);
      state.ollama[hostKey(health.host, health.ollama_url)] = health;
      mark("status");
    },
    models(snapshot) {
      accept(snapshot.host);
      applySnapshot(state, snapshot);
      mark("models", "loaded");
    },
    heartbeat(beat) {
      // Services are not Ollama hosts (the hub runs storage, alerting, the gateway).
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
}
