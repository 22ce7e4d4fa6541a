// The Alerts card: what fires now (each with Acknowledge and Silence) and the history.

import { fmt, h, level, replaceChildren, setText } from "./dom.js";

const SEVERITY_ORDER = ["critical", "high", "medium", "low"];

function button(text, title, onClick) {
  const node = h("button", { type: "button", class: "small", text, title });
  node.addEventListener("click", onClick);
  return node;
}

// `actions` (firing alerts only): { acknowledge(alert, button), silence(alert) }.
function alertItem(alert, actions) {
  const firing = alert.state === "firing";
  const acknowledged = alert.acknowledged_by
    ? h("span", { class: "tag ok", text: `acknowledged by ${alert.acknowledged_by}`, title: fmt.time(alert.acknowledged_at) })
    : null;
  const tools = actions && firing ? h("div", { class: "tools" },
    alert.acknowledged_by ? null : button("Acknowledge", "stop notifications while it fires",
      (event) => actions.acknowledge(alert, event.currentTarget)),
    button("Silence…", "fill in the silence form for this alert", () => actions.silence(alert))) : null;
  return h("li", {
    class: `alert sev-${level(alert.severity)} ${firing ? "" : "resolved"}`,
    "data-fingerprint": alert.fingerprint || "",
  },
  h("div", { class: "row" },
    h("span", { class: `sev sev-${level(alert.severity)}`, text: alert.severity }),
    h("b", { text: alert.alert_type }),
    alert.model_name ? h("span", { class: "model", text: alert.model_name }) : null,
    alert.host ? h("span", { class: "host-only muted", text: `@${alert.host}` }) : null,
    acknowledged,
    h("span", { class: "muted right", text: `${alert.state} · ${fmt.time(alert.timestamp)}` })),
  h("div", { text: alert.message }),
  alert.recommendation ? h("div", { class: "recommendation", text: `→ ${alert.recommendation}` }) : null,
  tools);
}

export function renderAlerts(state, actions) {
  const active = Object.values(state.activeAlerts).sort(
    (a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  replaceChildren("alerts-active", active.length
    ? active.map((alert) => alertItem(alert, actions))
    : [h("li", { class: "empty", text: "Nothing firing." })]);
  replaceChildren("alerts-history", state.alertHistory.slice(0, 12).map((alert) => alertItem(alert, null)));
  setText("alerts-count", active.length ? `${active.length} firing` : "");
}
