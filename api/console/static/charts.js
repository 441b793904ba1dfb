/* ECharts for the console: data comes from <script type="application/json" id="NAME-data"> blocks. */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  function data(name) {
    var el = document.getElementById(name + "-data");
    return el ? JSON.parse(el.textContent) : null;
  }
  // Tooltips are drawn on the canvas ("richText"): ECharts' HTML tooltip writes style="" attributes, which
  // the console's Content-Security-Policy (style-src 'self') refuses.
  var tooltip = { trigger: "axis", renderMode: "richText" };
  var base = { grid: { left: 48, right: 16, top: 28, bottom: 28 }, tooltip: tooltip,
               textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" } };
  function category(labels) { return { type: "category", data: labels, axisLabel: { hideOverlap: true } }; }
  var builders = {
    histogram: function (d) {
      return Object.assign({}, base, { grid: { left: 36, right: 8, top: 8, bottom: 20 },
        xAxis: category(d.labels), yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: "帖子数", data: d.values, barMaxWidth: 28, itemStyle: { color: "#0b4f8a" } }] });
    },
    heat: function (d) {
      return Object.assign({}, base, { legend: { top: 0 }, xAxis: category(d.labels),
        yAxis: [{ type: "value", name: "帖子", minInterval: 1 }, { type: "value", name: "热度" }],
        series: [{ type: "bar", name: "帖子数", data: d.posts, barMaxWidth: 28, itemStyle: { color: "#8fb4d9" } },
                 { type: "line", name: "热度", yAxisIndex: 1, smooth: true, symbolSize: 7, data: d.heat,
                   itemStyle: { color: "#c62828" } }] });
    },
    sentiment: function (d) {
      function bar(name, data, color) {
        return { type: "bar", stack: "s", name: name, data: data, barMaxWidth: 28, itemStyle: { color: color } };
      }
      return Object.assign({}, base, { legend: { top: 0 }, xAxis: category(d.labels), yAxis: { type: "value", minInterval: 1 },
        series: [bar("负面", d.negative, "#c62828"), bar("中性", d.neutral, "#9aa6b2"), bar("正面", d.positive, "#1f8a4c")] });
    },
    bars: function (d) {
      return Object.assign({}, base, { tooltip: tooltip, grid: { left: 110, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: d.labels, inverse: true },
        series: [{ type: "bar", data: d.values, barMaxWidth: 22, itemStyle: { color: "#0b4f8a" } }] });
    }
  };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var kind = el.dataset.chart, d = data(el.id);
    if (!d || !builders[kind]) { return; }
    if (el.dataset.height) { el.style.height = el.dataset.height + "px"; }  // CSSOM: no style="" under the CSP
    var chart = echarts.init(el);
    chart.setOption(builders[kind](d));
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
