// The analyst page's charts: data from <script type="application/json" id="analyst-data"> (no inline
// script: the Content-Security-Policy allows scripts from Qiao's own static files only).
(function () {
  "use strict";
  var RED = "#a4161a";
  var GREY = "#6c757d";
  var CONFIG = { displayModeBar: false, responsive: true };

  function layout(extra) {
    var base = { margin: { l: 60, r: 10, t: 10, b: 50 }, height: 260 };
    for (var key in extra) { base[key] = extra[key]; }
    return base;
  }

  // A pyramid: one centred bar per tier, the apex (highest tier) on top.
  function pyramid(id, rows, text) {
    var el = document.getElementById(id);
    if (!el || !rows || !rows.length) { return; }
    window.Plotly.newPlot(el, [{
      type: "funnel",
      y: rows.map(function (r) { return r.label; }),
      x: rows.map(function (r) { return r.n; }),
      textinfo: "value+percent total",
      marker: { color: RED },
      connector: { line: { color: "#dee2e6" } },
      hovertemplate: "%{y}: %{x:,} " + text.customers + "<extra></extra>"
    }], layout({ margin: { l: 150, r: 10, t: 10, b: 10 } }), CONFIG);
  }

  function holdout(rows, text) {
    var el = document.getElementById("chart-holdout");
    if (!el || !rows || !rows.length) { return; }
    var x = rows.map(function (r) { return r.x; });
    window.Plotly.newPlot(el, [
      { type: "scatter", mode: "lines+markers", name: text.actual, x: x,
        y: rows.map(function (r) { return r.actual; }), line: { color: RED, width: 2 } },
      { type: "scatter", mode: "lines+markers", name: text.predicted, x: x,
        y: rows.map(function (r) { return r.predicted; }), line: { color: GREY, width: 2, dash: "dash" } }
    ], layout({
      xaxis: { type: "category", title: { text: text.frequency } },
      yaxis: { title: { text: text.mean_holdout }, rangemode: "tozero" },
      legend: { orientation: "h", y: 1.12 },
      height: 340
    }), CONFIG);
  }

  function silhouette(rows, text) {
    var el = document.getElementById("chart-silhouette");
    if (!el || !rows || !rows.length) { return; }
    window.Plotly.newPlot(el, [{
      type: "bar",
      x: rows.map(function (r) { return "k = " + r.k + (r.chosen ? " (" + text.chosen + ")" : ""); }),
      y: rows.map(function (r) { return r.score; }),
      marker: { color: rows.map(function (r) { return r.chosen ? RED : GREY; }) },
      hovertemplate: "%{x}: %{y:.3f}<extra></extra>"
    }], layout({
      xaxis: { type: "category", title: { text: text.k } },
      yaxis: { title: { text: text.silhouette }, rangemode: "tozero" }
    }), CONFIG);
  }

  function importance(rows, text) {
    var el = document.getElementById("chart-importance");
    if (!el || !rows || !rows.length) { return; }
    var sorted = rows.slice().reverse();  // largest on top
    window.Plotly.newPlot(el, [{
      type: "bar",
      orientation: "h",
      y: sorted.map(function (r) { return r.name; }),
      x: sorted.map(function (r) { return r.value; }),
      marker: { color: RED },
      hovertemplate: "%{y}: %{x:.4f}<extra></extra>"
    }], layout({
      margin: { l: 130, r: 10, t: 10, b: 40 },
      xaxis: { title: { text: text.importance } }
    }), CONFIG);
  }

  function draw() {
    var source = document.getElementById("analyst-data");
    if (!source || !window.Plotly) { return; }
    var data = JSON.parse(source.textContent);
    if (!data || !data.text) { return; }
    pyramid("chart-pyramid", data.pyramid, data.text);
    pyramid("chart-deposit", data.deposit, data.text);
    holdout(data.holdout, data.text);
    silhouette(data.silhouette, data.text);
    importance(data.importance, data.text);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
