// What alerting and the notifier did: each delivery attempt's outcome, and the audit trail
// of threshold changes, silences and acknowledgements (both from `GET /alerts`).

import { fmt, h, replaceChildren, setText } from "./dom.js";

const OUTCOME_LEVEL = { delivered: "ok", retrying: "warn", failed: "bad", dead_lettered: "bad" };

export function renderDeliveries(state) {
  const rows = state.deliveries.slice(0, 30).map((d) => h("tr", { class: `outcome-${OUTCOME_LEVEL[d.outcome] ?? "off"}` },
    h("td", { class: "muted", text: fmt.time(d.timestamp) }),
    h("td", { text: d.receiver, title: d.receiver_kind }),
    h("td", { class: "model", text: d.alert_type, title: d.fingerprint }),
    h("td", { text: d.alert_state }),
    h("td", { class: "n", text: d.attempt }),
    h("td", { class: `outcome ${OUTCOME_LEVEL[d.outcome] ?? "off"}`, text: d.outcome }),
    h("td", { class: "muted answer", text: d.error || (d.status_code ?? ""), title: d.error || "" }),
    h("td", { class: "n", text: fmt.ms(d.latency_ms) })));
  replaceChildren("deliveries-body", rows);
  document.getElementById("deliveries-empty").hidden = rows.length > 0;
  const failed = state.deliveries.filter((d) => d.outcome === "failed" || d.outcome === "dead_lettered").length;
  setText("deliveries-count", state.deliveries.length
    ? `${state.deliveries.length} attempts${failed ? ` · ${failed} given up` : ""}` : "");
}

function auditText(entry) {
  switch (entry.action) {
    case "threshold_changed":
      return `${entry.rule}: ${entry.previous_threshold ?? "–"} → ${entry.threshold}`;
    case "alert_acknowledged":
      return `${entry.rule ?? "alert"}${entry.model_name ? ` ${entry.model_name}` : ""}${entry.alert_host ? ` @${entry.alert_host}` : ""}`;
    default: {
      const s = entry.silence || {};
      const matchers = ["match_alertname", "match_host", "match_model", "match_severity"]
        .filter((key) => s[key]).map((key) => `${key.slice(6)}=${s[key]}`);
      return matchers.join(" ") || "every alert";
    }
  }
}

export function renderAudit(state) {
  replaceChildren("audit-list", state.audit.length ? state.audit.slice(0, 20).map((entry) => h("li", {},
    h("div", { class: "row" },
      h("b", { text: String(entry.action ?? "").replaceAll("_", " ") }),
      h("span", { class: "muted right", text: fmt.time(entry.timestamp) })),
    h("div", { class: "model", text: auditText(entry) }),
    h("div", { class: "muted", text: `by ${entry.author || "–"}${entry.comment ? ` · ${entry.comment}` : ""}` })))
    : [h("li", { class: "empty", text: "No change made yet." })]);
}
