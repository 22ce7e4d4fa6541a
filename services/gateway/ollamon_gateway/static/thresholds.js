// The Thresholds card: each rule's threshold, editable; the gateway and alerting validate,
// and a refused value shows the problem's reasons on its row.

import { fmt, h, replaceChildren } from "./dom.js";

function bounds(rule) {
  const low = rule.minimum === null || rule.minimum === undefined ? "" : `${rule.minimum_exclusive ? ">" : "≥"} ${rule.minimum}`;
  const high = rule.maximum === null || rule.maximum === undefined ? "" : `${rule.maximum_exclusive ? "<" : "≤"} ${rule.maximum}`;
  return [low, high].filter(Boolean).join(", ");
}

// `save(rule, value, row)` sends the new value; drawn only when the list is (re)loaded,
// so a value being typed is not overwritten by a redraw.
export function renderThresholds(state, save) {
  replaceChildren("thresholds-body", state.thresholds.map((rule) => {
    const input = h("input", {
      type: "number", step: "any", value: rule.threshold, class: "threshold",
      "aria-label": `${rule.rule} threshold (${rule.unit})`,
    });
    const error = h("div", { class: "row-error", role: "alert" });
    const saveButton = h("button", { type: "button", class: "small", text: "Save" });
    const send = () => save(rule, input.value, { input, error, button: saveButton });
    saveButton.addEventListener("click", send);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        send();
      }
    });
    const changed = rule.updated_by || rule.updated_at
      ? `changed${rule.updated_by ? ` by ${rule.updated_by}` : ""} ${fmt.ago(rule.updated_at)}` : "";
    const about = `${rule.rule} (OLLAMON_ALERT_${String(rule.setting).toUpperCase()}): default ${rule.default} ${rule.unit}${bounds(rule) ? `, ${bounds(rule)}` : ""}`;
    return h("tr", { "data-rule": rule.rule },
      h("td", {},
        h("div", { text: rule.title || rule.rule, title: about }),
        changed ? h("div", { class: "muted small-text", text: changed }) : null,
        error),
      h("td", { class: "n" }, input, h("span", { class: "muted unit", text: ` ${rule.unit}` })),
      h("td", {}, saveButton));
  }));
}
