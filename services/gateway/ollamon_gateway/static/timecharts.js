// Time charts on uPlot (vendored from npm: vendor/uplot/, loaded by the page as the global
// `uPlot`): a time axis, a value axis with its unit, a legend that shows each series' value
// under the cursor, one line per host. Canvas only: labels are drawn, never parsed as markup.
// Each figure also carries its axis labels as text (`data-x-labels`, `data-y-labels`,
// `aria-label`), for screen readers and tests.

const PALETTE = ["#5aa9ff", "#3ecf8e", "#f5b83d", "#c58cff", "#ff8a5c", "#7fe3e0"];
const AXIS = { stroke: "#7d8896", grid: { stroke: "#262e38", width: 1 }, ticks: { stroke: "#262e38", width: 1 } };
const HEIGHT = { normal: 120, wide: 140 };
const charts = new WeakMap(); // figure -> { plot, key, observer }

export const colour = (index) => PALETTE[index % PALETTE.length];

function hhmm(seconds, withDay) {
  const date = new Date(seconds * 1000);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  if (!withDay) return time;
  return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

// The time axis' labels: hh:mm within a day, the date as well over longer spans.
function timeLabels(plot, ticks) {
  const span = (plot.scales.x.max ?? 0) - (plot.scales.x.min ?? 0);
  return ticks.map((tick) => hhmm(tick, span > 86400));
}

function plotHolder(figure) {
  let holder = figure.querySelector(".plot");
  if (!holder) {
    holder = document.createElement("div");
    holder.className = "plot";
    figure.append(holder);
  }
  return holder;
}

function nodata(figure, empty) {
  let note = figure.querySelector(".nodata");
  if (!note) {
    note = document.createElement("p");
    note.className = "nodata";
    note.textContent = "no data";
    figure.append(note);
  }
  note.hidden = !empty;
  figure.classList.toggle("empty", empty);
}

function describe(figure, plot, unitLabel) {
  const xLabels = figure.dataset.xLabels || "";
  const yLabels = figure.dataset.yLabels || "";
  const caption = figure.querySelector("figcaption")?.firstChild?.textContent?.trim() ?? "";
  const min = plot.scales.x.min;
  const max = plot.scales.x.max;
  const range = min === undefined || max === undefined ? "" : `${hhmm(min, true)} to ${hhmm(max, true)}`;
  figure.querySelector(".plot")?.setAttribute("role", "img");
  figure.querySelector(".plot")?.setAttribute("aria-label",
    `${caption} (${unitLabel}) ${range}; time axis ${xLabels}; values ${yLabels}`.trim());
}

// The figure's view: the limits the scales read at each redraw, kept across data updates.
function view(figure) {
  if (!charts.has(figure)) charts.set(figure, { key: null, plot: null, observer: null, top: 1, tMin: null, tMax: null });
  return charts.get(figure);
}

// The figure's plot, built anew only when its series (names, colours, unit) change.
function build(figure, key, options) {
  const entry = view(figure);
  if (entry.plot && entry.key === key) return entry.plot;
  if (entry.plot) {
    entry.observer.disconnect();
    entry.plot.destroy();
  }
  const holder = plotHolder(figure);
  const width = Math.max(120, holder.clientWidth || figure.clientWidth || 300);
  const height = figure.classList.contains("wide") ? HEIGHT.wide : HEIGHT.normal;
  const plot = new uPlot({ ...options, width, height }, options.data, holder);
  // Follow the figure's width (the grid reflows from four charts a row to one).
  let lastWidth = width;
  const observer = new ResizeObserver(() => {
    const next = Math.max(120, holder.clientWidth);
    if (Math.abs(next - lastWidth) < 2) return;
    lastWidth = next;
    plot.setSize({ width: next, height });
  });
  observer.observe(holder);
  Object.assign(entry, { plot, key, observer });
  return plot;
}

// Record what the axes show, as text, each time uPlot draws them.
function recorder(figure, axis) {
  return (values) => {
    figure.dataset[axis === "x" ? "xLabels" : "yLabels"] = values.filter((v) => v !== "").join(" ");
    return values;
  };
}

function axes(figure, unit) {
  const recordX = recorder(figure, "x");
  const recordY = recorder(figure, "y");
  return [
    { ...AXIS, size: 28, values: (plot, ticks) => recordX(timeLabels(plot, ticks)) },
    { ...AXIS, size: 48, values: (plot, ticks) => recordY(ticks.map((tick) => unit.axis(tick))) },
  ];
}

function setCaption(figure, label) {
  const now = figure.querySelector(".now");
  if (now) now.textContent = label;
}

// Align several [times, values] tables on one time axis: a series with no sample at a time
// gets `undefined` there (uPlot joins its line across), so two hosts are never mixed.
function aligned(series) {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column = new Array(times.length).fill(undefined);
    for (const p of s.points) column[index.get(p.t)] = p.v ?? null;
    return column;
  });
  return [times, ...columns];
}

const valid = (v) => v !== null && v !== undefined && !Number.isNaN(v);

// series: [{name, index, points: [{t: epoch s, v}]}]: one line per series over [tMin, tMax]
// (epoch s); `unit` formats values: {axis(v), value(v), label}. Scale from 0 to at least `max`.
export function lineChart(figure, series, { unit, max = 1, tMin, tMax, label = "", sync } = {}) {
  setCaption(figure, label);
  const shownSeries = series.map((s) => ({ ...s, points: s.points.filter((p) => valid(p.v)) }));
  const empty = shownSeries.every((s) => s.points.length === 0);
  nodata(figure, empty);
  const data = aligned(shownSeries);
  const key = `line|${unit.label}|${shownSeries.map((s) => `${s.name}/${s.index}`).join(",")}`;
  const entry = view(figure);
  entry.top = Math.max(max, ...shownSeries.flatMap((s) => s.points.map((p) => p.v)));
  entry.tMin = tMin ?? null;
  entry.tMax = tMax ?? null;
  const long = () => (entry.tMax ?? 0) - (entry.tMin ?? 0) > 86400;
  const options = {
    data,
    legend: { live: true },
    cursor: sync ? { sync: { key: sync } } : {},
    scales: {
      x: { time: true, range: (plot, min, maxX) => [entry.tMin ?? min, entry.tMax ?? maxX] },
      y: { range: () => [0, entry.top] },
    },
    axes: axes(figure, unit),
    series: [
      { label: "time", value: (plot, v) => (v === null ? "–" : hhmm(v, long())) },
      ...shownSeries.map((s) => ({
        label: s.name || "value",
        stroke: colour(s.index ?? 0),
        width: 1.5,
        fill: shownSeries.length === 1 ? `${colour(s.index ?? 0)}2e` : undefined,
        spanGaps: true,
        points: { show: false },
        value: (plot, v) => (valid(v) ? unit.value(v) : "–"),
      })),
    ],
  };
  const plot = build(figure, key, options);
  plot.setData(data);
  describe(figure, plot, unit.label);
  figure.dataset.series = shownSeries.map((s) => `${s.name}:${s.points.length}`).join(" ");
}

// Bars per time bucket (epoch s): [{t, v, errors}]; errors drawn over the requests in amber.
export function barChart(figure, bars, { unit, label = "", bucketSeconds = 3600 } = {}) {
  setCaption(figure, label);
  nodata(figure, bars.length === 0);
  const times = bars.map((b) => b.t);
  const data = [times, bars.map((b) => b.v), bars.map((b) => b.errors ?? 0)];
  const barPaths = uPlot.paths.bars({ size: [0.8, 40], align: 0 });
  const options = {
    data,
    legend: { live: true },
    scales: {
      x: {
        time: true,
        range: (plot, min, max) => [(min ?? 0) - bucketSeconds / 2, (max ?? 0) + bucketSeconds / 2],
      },
      y: { range: (plot, min, max) => [0, Math.max(1, max ?? 1)] },
    },
    axes: axes(figure, unit),
    series: [
      { label: "bucket", value: (plot, v) => (v === null ? "–" : hhmm(v, true)) },
      { label: "requests", stroke: colour(0), fill: `${colour(0)}b3`, paths: barPaths, points: { show: false },
        value: (plot, v) => (valid(v) ? unit.value(v) : "–") },
      { label: "errors", stroke: colour(2), fill: colour(2), paths: barPaths, points: { show: false },
        value: (plot, v) => (valid(v) ? unit.value(v) : "–") },
    ],
  };
  const plot = build(figure, `bars|${bucketSeconds}`, options);
  plot.setData(data);
  describe(figure, plot, unit.label);
  figure.dataset.series = `requests:${bars.length}`;
}

// What a figure's chart draws ([times, ...one column per series]; `undefined` where a
// series has no sample), for tests and the console: `ollamon.chartData("chart-cpu")`.
export function chartData(figure) {
  return charts.get(figure)?.plot?.data ?? null;
}

// Units for the value axes and the legend's hover values.
export const UNITS = {
  percent: { label: "%", axis: (v) => `${Math.round(v)}%`, value: (v) => `${v.toFixed(1)}%` },
  ms: {
    label: "ms",
    axis: (v) => (v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`),
    value: (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`),
  },
  count: { label: "requests", axis: (v) => (Number.isInteger(v) ? String(v) : ""), value: (v) => String(Math.round(v)) },
};
