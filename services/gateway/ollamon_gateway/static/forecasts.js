// The Forecasts card: when each disk, host memory and GPU memory will be full at its recent
// rate (GET /forecasts: storage's least-squares line over the last day for disks, 30 minutes
// for memory and VRAM), soonest first, with the rate and the 95 % range of the time to full.
// A resource within its forecast rule's lead time (the Thresholds card's value) is marked.

import { getJson, withHost } from "./api.js";
import { h, replaceChildren, setText } from "./dom.js";

const GB = 1e9;
const RULES = { disk: "disk_full_forecast", memory: "memory_pressure_forecast", vram: "vram_pressure_forecast" };
const RULE_SECONDS = { disk: 3600, memory: 60, vram: 60 }; // the rules' units: hours, minutes

// "~9 days", "~5 hours", "~12 minutes": as the alerts word it.
export function duration(seconds) {
  if (seconds >= 2 * 86400) return `~${Math.round(seconds / 86400)} days`;
  if (seconds >= 2 * 3600) return `~${Math.round(seconds / 3600)} hours`;
  if (seconds >= 120) return `~${Math.round(seconds / 60)} minutes`;
  return `~${Math.max(0, Math.round(seconds))} seconds`;
}

// Disks per day, memory and VRAM per hour, as the alerts say it.
export function rate(item) {
  if (item.rate_per_hour === null || item.rate_per_hour === undefined) return "–";
  const perDay = item.kind === "disk";
  const value = item.rate_per_hour * (perDay ? 24 : 1);
  const per = perDay ? "day" : "hour";
  return item.unit === "percent" ? `${value.toFixed(1)} %/${per}` : `${(value / GB).toFixed(1)} GB/${per}`;
}

function used(item) {
  const share = item.capacity > 0 ? `${Math.round((100 * item.used) / item.capacity)} %` : "–";
  if (item.unit === "percent") return share;
  return `${(item.used / GB).toFixed(1)} of ${(item.capacity / GB).toFixed(1)} GB (${share})`;
}

function fullIn(item) {
  if (item.seconds_to_full === null || item.seconds_to_full === undefined) {
    return h("span", { class: "muted", text: item.points ? "not filling" : "not enough history" });
  }
  const main = duration(item.seconds_to_full);
  if (!item.soonest_seconds || !item.latest_seconds) return main;
  const [soonest, latest] = [duration(item.soonest_seconds), duration(item.latest_seconds)];
  return soonest === main && latest === main ? main : `${main} (${soonest}–${latest})`;
}

// The lead time (seconds) of the resource's forecast rule in force, when the page knows it.
function leadSeconds(state, kind) {
  const rule = (state.thresholds || []).find((entry) => entry.rule === RULES[kind]);
  return rule ? rule.threshold * RULE_SECONDS[kind] : null;
}

function row(state, item) {
  const lead = leadSeconds(state, item.kind);
  const soon = item.seconds_to_full !== null && item.seconds_to_full !== undefined
    && lead !== null && item.seconds_to_full <= lead;
  return h("tr", { class: soon ? "soon" : "", "data-kind": item.kind, "data-resource": item.resource, title: item.summary },
    h("td", {}, h("span", { class: "tag", text: item.kind }), ` ${item.resource}`),
    h("td", { class: "opt", text: item.host }),
    h("td", { class: "n opt", text: used(item) }),
    h("td", { class: "n", text: rate(item) }),
    h("td", { class: soon ? "n warn full-in" : "n full-in" }, fullIn(item)));
}

export function renderForecasts(state, reply) {
  const forecasts = reply.forecasts || [];
  replaceChildren("forecasts-body", forecasts.map((item) => row(state, item)));
  document.getElementById("forecasts-empty").hidden = forecasts.length > 0;
  const filling = forecasts.filter((item) => item.seconds_to_full !== null && item.seconds_to_full !== undefined);
  setText("forecasts-summary", forecasts.length ? `${filling.length} of ${forecasts.length} filling` : "");
}

// Loads the card now, when the host changes (`load`) and every minute.
export function wireForecasts(state) {
  let latest = { forecasts: [] };
  const load = async () => {
    const host = state.host;
    try {
      const reply = await getJson(withHost("/forecasts", host));
      if (host !== state.host) return;
      latest = reply;
      state.errors.delete("forecasts");
    } catch (error) {
      state.errors.set("forecasts", `forecasts: ${error.message}`);
      latest = { forecasts: [] };
    }
    renderForecasts(state, latest);
  };
  setInterval(load, 60000);
  return { load, redraw: () => renderForecasts(state, latest) };
}
