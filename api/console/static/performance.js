/* 考核统计: each department's on-time rate as a bar, coloured by the page's thresholds; data from
   <script type="application/json" id="rates-data">. */
(function () {
  "use strict";
  var el = document.getElementById("rates");
  if (!window.echarts || !el) { return; }
  var d = JSON.parse(document.getElementById("rates-data").textContent);
  if (el.dataset.height) { el.style.height = el.dataset.height + "px"; }  // CSSOM: no style="" under the CSP
  function color(v) { return v < d.bad ? "#c62828" : v < d.warn ? "#e0a100" : "#1f8a4c"; }
  var chart = echarts.init(el);
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" },
    grid: { left: 130, right: 56, top: 24, bottom: 28 },
    // drawn on the canvas: ECharts' HTML tooltip writes style="" attributes, refused by the CSP
    tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return v + "%"; } },
    xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: d.labels, inverse: true, axisLabel: { width: 118, overflow: "truncate" } },
    series: [{
      type: "bar", name: "按时率", barMaxWidth: 22,
      data: d.values.map(function (v) { return { value: v, itemStyle: { color: color(v) } }; }),
      label: { show: true, position: "right", formatter: "{c}%" },
      markLine: { symbol: "none", silent: true, label: { show: false }, lineStyle: { type: "dashed" },
                  data: [{ xAxis: d.warn, lineStyle: { color: "#e0a100" } }, { xAxis: d.bad, lineStyle: { color: "#c62828" } }] }
    }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
