// The Silences card: the silences in force (each with Expire) and the form for a new one.

import { fmt, h, replaceChildren, setText } from "./dom.js";
import { shown } from "./hosts.js";

const DEFAULT_HOURS = 2;
const MATCHERS = [["alertname", "match_alertname"], ["host", "match_host"], ["model", "match_model"], ["severity", "match_severity"]];

const field = (id) => document.getElementById(id);

// `YYYY-MM-DDTHH:MM` in local time, what a datetime-local input holds.
function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function until(value) {
  const seconds = (new Date(value).getTime() - Date.now()) / 1000;
  if (seconds <= 0) return "ending";
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min left`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h left`;
  return `${Math.round(seconds / 86400)} d left`;
}

// The silences that can hold back an alert of the page's host (all of them for every host).
export function renderSilences(state, expire) {
  const silences = state.silences.filter((s) => !s.match_host || shown(state, s.match_host));
  replaceChildren("silences-list", silences.length ? silences.map((silence) => {
    const matchers = MATCHERS.filter(([, key]) => silence[key])
      .map(([name, key]) => h("code", { text: `${name}=${silence[key]}` }));
    const expireButton = h("button", { type: "button", class: "small", text: "Expire", title: "lift this silence now" });
    expireButton.addEventListener("click", () => expire(silence, expireButton));
    return h("li", { class: "silence", "data-silence-id": silence.silence_id },
      h("div", { class: "row" },
        ...(matchers.length ? matchers : [h("code", { text: "every alert" })]),
        h("span", { class: "muted right", text: `${until(silence.expires_at)} · until ${fmt.time(silence.expires_at)}` }),
        expireButton),
      h("div", { class: "muted" },
        h("span", { text: silence.author ? `by ${silence.author}` : "by –" }),
        silence.created_at ? h("span", { text: ` · ${fmt.ago(silence.created_at)}` }) : null,
        silence.comment ? h("span", { text: ` · ${silence.comment}` }) : null));
  }) : [h("li", { class: "empty", text: "No silence in force." })]);
  setText("silences-count", silences.length ? `${silences.length} in force` : "");
}

// The form's suggestions: rules, hosts and models the page knows.
export function renderSilenceChoices(state) {
  const options = (values) => [...new Set(values.filter(Boolean))].sort().map((value) => h("option", { value }));
  replaceChildren("rule-names", options(state.thresholds.map((t) => t.rule)));
  replaceChildren("host-names", options([...state.knownHosts]));
  replaceChildren("model-names", options(Object.values(state.models).map((m) => m.model_name)));
  if (!field("silence-ends").value) field("silence-ends").value = localInputValue(new Date(Date.now() + DEFAULT_HOURS * 3600e3));
}

// The POST body from the form: empty matchers are left out (they match anything).
export function silenceBody() {
  const text = (id) => field(id).value.trim();
  const ends = field("silence-ends").value;
  const body = {
    author: text("silence-author"),
    comment: text("silence-comment"),
    ends_at: ends ? new Date(ends).toISOString() : null,
  };
  for (const [name, key] of MATCHERS) {
    const value = text(`silence-${name}`);
    if (value) body[key] = value;
  }
  return body;
}

// "Silence…" on a firing alert: its rule, host and model in the form.
export function prefillSilence(alert) {
  field("silence-alertname").value = alert.alert_type || "";
  field("silence-host").value = alert.host || "";
  field("silence-model").value = alert.model_name || "";
  field("silence-severity").value = "";
  field("silence-comment").focus();
  field("form-silence").scrollIntoView({ block: "center" });
}

export function resetSilenceForm() {
  for (const name of ["alertname", "host", "model", "comment"]) field(`silence-${name}`).value = "";
  field("silence-severity").value = "";
  field("silence-ends").value = localInputValue(new Date(Date.now() + DEFAULT_HOURS * 3600e3));
}
