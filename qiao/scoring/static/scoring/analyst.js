// The analyst page's charts, drawn as plain SVG from <script type="application/json" id="analyst-data">
// (no chart library: decision 0008; no inline script: the Content-Security-Policy allows scripts from
// Qiao's own static files only). Labels are spaced from their width so that they never overlap.
(function () {
  "use strict";
  var RED = "#a4161a";
  var GREY = "#6c757d";
  var NS = "http://www.w3.org/2000/svg";
  var W = 640;
  var FONT = 11;
  var CHAR = 0.62 * FONT;

  function node(parent, name, attrs, text) {
    var el = document.createElementNS(NS, name);
    for (var key in attrs) { el.setAttribute(key, attrs[key]); }
    if (text !== undefined) { el.textContent = text; }
    parent.appendChild(el);
    return el;
  }

  function canvas(el, height) {
    return node(el, "svg", {
      viewBox: "0 0 " + W + " " + height, width: "100%", "font-size": FONT,
      "font-family": "system-ui, sans-serif", role: "presentation"
    });
  }

  function tip(el, text) { node(el, "title", {}, text); }

  function fmt(v, digits) {
    return Number(v).toLocaleString(undefined, { minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }

  function niceTicks(top) {
    if (!(top > 0)) { return [0, 1]; }
    var raw = top / 5, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10], step = power * 10;
    for (var i = 0; i < steps.length; i++) { if (steps[i] * power * 5 >= top) { step = steps[i] * power; break; } }
    var ticks = [];
    for (var t = 0; t < top + step - 1e-9; t += step) { ticks.push(t); }
    return ticks;
  }

  function decimals(step) {
    var s = String(+step.toFixed(6));
    return s.indexOf(".") < 0 ? 0 : s.length - s.indexOf(".") - 1;
  }

  function width(text) { return String(text).length * CHAR * (/[\u3400-\u9fff]/.test(text) ? 1.7 : 1); }

  // Horizontal bars, the largest on top; centred (a pyramid) or from the left.
  function hbars(id, rows, options) {
    var el = document.getElementById(id);
    if (!el || !rows || !rows.length) { return; }
    var row = 26, top = 6, h = top * 2 + row * rows.length;
    var svg = canvas(el, h);
    var left = Math.min(220, Math.max.apply(null, rows.map(function (r) { return width(r.label); })) + 12);
    var right = 110, plot = W - left - right;
    var max = Math.max.apply(null, rows.map(function (r) { return r.value; })) || 1;
    var total = rows.reduce(function (s, r) { return s + r.value; }, 0) || 1;
    rows.forEach(function (r, i) {
      var y = top + i * row, bar = Math.max(1, plot * r.value / max);
      var x = options.centred ? left + (plot - bar) / 2 : left;
      node(svg, "text", { x: left - 6, y: y + row / 2 + FONT / 3, "text-anchor": "end", fill: "#212529" }, r.label);
      var rect = node(svg, "rect", { x: x, y: y + 3, width: bar, height: row - 6, fill: RED });
      var label = options.percent ? fmt(r.value) + " · " + fmt(100 * r.value / total, 1) + "%" : fmt(r.value, options.digits);
      tip(rect, r.label + ": " + label);
      node(svg, "text", { x: (options.centred ? left + plot / 2 + bar / 2 : left + bar) + 6, y: y + row / 2 + FONT / 3, fill: "#495057" }, label);
    });
  }

  // Lines (or bars) over categories, with a y axis of round ticks and a legend.
  function xy(id, categories, series, options) {
    var el = document.getElementById(id);
    if (!el || !categories || !categories.length) { return; }
    var h = options.height || 260, top = series.length > 1 ? 30 : 12, bottom = 44;
    var all = [];
    series.forEach(function (s) { all = all.concat(s.values); });
    var ticks = niceTicks(Math.max.apply(null, all));
    var digits = ticks.length > 1 ? decimals(ticks[1] - ticks[0]) : 0;
    var labels = ticks.map(function (t) { return fmt(t, digits); });
    var widest = Math.max.apply(null, categories.map(width));
    var left = Math.max(Math.max.apply(null, labels.map(width)) + 14, 20), right = Math.max(12, widest / 2 + 2);
    var plotW = W - left - right, plotH = h - top - bottom, n = categories.length;
    var svg = canvas(el, h);
    var band = plotW / n;
    function x(i) { return left + band * (i + 0.5); }
    function y(v) { return top + plotH * (1 - v / ticks[ticks.length - 1]); }
    ticks.forEach(function (t, i) {
      node(svg, "line", { x1: left, x2: W - right, y1: y(t), y2: y(t), stroke: "#dee2e6" });
      node(svg, "text", { x: left - 6, y: y(t) + FONT / 3, "text-anchor": "end", fill: "#495057" }, labels[i]);
    });
    var every = Math.max(1, Math.ceil((widest + 12) / band));
    for (var i = 0; i < n; i += every) {
      node(svg, "text", { x: x(i), y: top + plotH + FONT + 6, "text-anchor": "middle", fill: "#495057" }, categories[i]);
    }
    if (options.xtitle) {
      node(svg, "text", { x: left + plotW / 2, y: h - 6, "text-anchor": "middle", fill: GREY }, options.xtitle);
    }
    if (options.ytitle) { tip(svg, options.ytitle); }
    series.forEach(function (s, k) {
      if (options.bars) {
        s.values.forEach(function (v, i) {
          var rect = node(svg, "rect", { x: x(i) - band * 0.35, y: y(v), width: band * 0.7, height: y(0) - y(v), fill: (s.colors || [])[i] || s.color });
          tip(rect, categories[i] + ": " + fmt(v, 3));
        });
        return;
      }
      var points = s.values.map(function (v, i) { return x(i) + "," + y(v); }).join(" ");
      var line = { points: points, fill: "none", stroke: s.color, "stroke-width": 2 };
      if (s.dash) { line["stroke-dasharray"] = "6 4"; }
      node(svg, "polyline", line);
      s.values.forEach(function (v, i) {
        tip(node(svg, "circle", { cx: x(i), cy: y(v), r: 3, fill: s.color }), s.name + " · " + categories[i] + ": " + fmt(v, 2));
      });
      if (series.length > 1) {
        var lx = left + k * 180;
        node(svg, "line", { x1: lx, x2: lx + 24, y1: 12, y2: 12, stroke: s.color, "stroke-width": 2, "stroke-dasharray": s.dash ? "6 4" : "none" });
        node(svg, "text", { x: lx + 30, y: 12 + FONT / 3, fill: "#212529" }, s.name);
      }
    });
  }

  function draw() {
    var source = document.getElementById("analyst-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    if (!data || !data.text) { return; }
    var text = data.text;
    function counts(rows) { return (rows || []).map(function (r) { return { label: r.label, value: r.n }; }); }
    hbars("chart-pyramid", counts(data.pyramid), { centred: true, percent: true });
    hbars("chart-deposit", counts(data.deposit), { centred: true, percent: true });
    var holdout = data.holdout || [];
    xy("chart-holdout", holdout.map(function (r) { return String(r.x); }), [
      { name: text.actual, color: RED, values: holdout.map(function (r) { return r.actual; }) },
      { name: text.predicted, color: GREY, dash: true, values: holdout.map(function (r) { return r.predicted; }) }
    ], { xtitle: text.frequency, ytitle: text.mean_holdout, height: 300 });
    var sil = data.silhouette || [];
    xy("chart-silhouette", sil.map(function (r) { return "k = " + r.k + (r.chosen ? " (" + text.chosen + ")" : ""); }), [
      { name: text.silhouette, color: GREY, values: sil.map(function (r) { return r.score; }),
        colors: sil.map(function (r) { return r.chosen ? RED : GREY; }) }
    ], { bars: true, xtitle: text.k, ytitle: text.silhouette });
    hbars("chart-importance", (data.importance || []).map(function (r) { return { label: r.name, value: r.value }; }), { digits: 4 });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
