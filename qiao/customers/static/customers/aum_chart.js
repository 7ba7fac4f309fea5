// The 360's AUM chart: data from <script type="application/json" id="aum-data"> (no inline script:
// the Content-Security-Policy allows scripts from Qiao's own static files only).
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("aum-chart");
    var source = document.getElementById("aum-data");
    if (!el || !source || !window.Plotly) { return; }
    var points = JSON.parse(source.textContent);
    if (!points.length) { return; }
    var wan = el.dataset.unit === "wan";
    var y = points.map(function (p) { return wan ? p.aum / 10000 : p.aum; });
    window.Plotly.newPlot(el, [{
      x: points.map(function (p) { return p.month; }),
      y: y,
      type: "scatter",
      mode: "lines+markers",
      line: { color: "#a4161a", width: 2 },
      marker: { size: 5 },
      hovertemplate: "%{x}: %{y:,.2f}<extra></extra>"
    }], {
      margin: { l: 70, r: 10, t: 10, b: 40 },
      height: 260,
      xaxis: { type: "category" },
      yaxis: { title: { text: el.dataset.ytitle || "" }, tickformat: ",.2f", rangemode: "tozero" }
    }, { displayModeBar: false, responsive: true });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
