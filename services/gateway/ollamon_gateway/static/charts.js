// Small hand-written SVG charts: lines (one per series) for time series, bars for buckets.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 80;

function svgNode(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

function frame(figure) {
  let svg = figure.querySelector("svg");
  if (!svg) {
    svg = svgNode("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none" });
    figure.append(svg);
  }
  svg.replaceChildren();
  for (const fraction of [0.25, 0.5, 0.75]) {
    const y = HEIGHT * fraction;
    svg.append(svgNode("line", { x1: 0, x2: WIDTH, y1: y, y2: y, class: "grid" }));
  }
  return svg;
}

function noData(svg) {
  const text = svgNode("text", { x: WIDTH / 2, y: HEIGHT / 2, class: "nodata" });
  text.textContent = "no data";
  svg.append(text);
}

const validPoints = (points) => points.filter((p) => p.v !== null && p.v !== undefined && !Number.isNaN(p.v));

// series: [{name, points: [{t: epoch ms, v: number|null}]}], one line each over [tMin, tMax]
// and [0, max]; the area under the line only when there is one. Each line names its series
// (`data-series`), and the series' position picks its colour.
export function seriesChart(figure, series, { max = 100, tMin, tMax, label = "" } = {}) {
  const svg = frame(figure);
  const now = figure.querySelector(".now");
  if (now) now.textContent = label;
  const drawn = series.map((s, index) => ({ ...s, index: s.index ?? index, valid: validPoints(s.points) }))
    .filter((s) => s.valid.length > 0);
  if (drawn.length === 0) {
    noData(svg);
    return;
  }
  const all = drawn.flatMap((s) => s.valid);
  const start = tMin ?? Math.min(...all.map((p) => p.t));
  const end = Math.max(tMax ?? Math.max(...all.map((p) => p.t)), start + 1);
  const top = Math.max(max, ...all.map((p) => p.v)) || 1;
  const x = (t) => ((t - start) / (end - start)) * WIDTH;
  const y = (v) => HEIGHT - (v / top) * (HEIGHT - 4) - 2;
  for (const s of drawn) {
    const line = s.valid.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    if (drawn.length === 1) {
      const first = x(s.valid[0].t).toFixed(1);
      const last = x(s.valid[s.valid.length - 1].t).toFixed(1);
      svg.append(svgNode("polygon", { points: `${first},${HEIGHT} ${line} ${last},${HEIGHT}`, class: "area" }));
    }
    const polyline = svgNode("polyline", {
      points: line, class: `line s${s.index % 6}`, "data-series": s.name ?? "", "data-count": s.valid.length,
    });
    const title = svgNode("title", {});
    title.textContent = s.name ?? "";
    polyline.append(title);
    svg.append(polyline);
  }
}

// bars: [{t: epoch ms, v: number}] evenly spaced in order.
export function barChart(figure, bars, { label = "" } = {}) {
  const svg = frame(figure);
  const now = figure.querySelector(".now");
  if (now) now.textContent = label;
  if (bars.length === 0) {
    noData(svg);
    return;
  }
  const top = Math.max(1, ...bars.map((b) => b.v));
  const width = WIDTH / bars.length;
  bars.forEach((bar, index) => {
    const height = (bar.v / top) * (HEIGHT - 4);
    const rect = svgNode("rect", {
      x: (index * width + width * 0.1).toFixed(1),
      y: (HEIGHT - height).toFixed(1),
      width: Math.max(width * 0.8, 0.5).toFixed(1),
      height: height.toFixed(1),
      class: bar.bad ? "bar bad" : "bar",
    });
    const title = svgNode("title", {});
    title.textContent = `${new Date(bar.t).toLocaleString()}: ${bar.v}`;
    rect.append(title);
    svg.append(rect);
  });
}
