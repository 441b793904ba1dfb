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
  // Incident trends: a time axis in Beijing wall-clock time (useUTC), values at each bucket's middle.
  function timeAxis(d) {
    return { type: "time", min: d.range[0], max: d.range[1],
             axisLabel: { hideOverlap: true, formatter: { day: "{MM}-{dd}", hour: "{HH}:{mm}", minute: "{HH}:{mm}" } } };
  }
  function pairs(times, values) { return times.map(function (t, i) { return [t, values[i]]; }); }
  var RELEASE_COLORS = { authoritative_info: "#0b4f8a", press_conference: "#7b1fa2", progress: "#1f8a4c" };
  var WINDOW_COLORS = ["rgba(110, 120, 135, 0.14)", "rgba(31, 138, 76, 0.14)"];
  // Every release of 持续发布 as a vertical line, the effect review's 回应前/回应后 windows shaded.
  function marked(series, d) {
    var m = d.marks || {};
    series.markLine = { symbol: ["none", "none"], animation: false,
      label: { formatter: "{b}", position: "insideEndTop", fontSize: 11 },
      data: (m.releases || []).map(function (r) {
        return { name: r.label + " " + r.time, xAxis: r.at, label: { formatter: r.label },
                 lineStyle: { color: RELEASE_COLORS[r.kind] || "#333", type: "solid", width: 2 } };
      }) };
    series.markArea = { silent: true, label: { position: "insideTop", color: "#555", fontSize: 11 },
      data: (m.windows || []).map(function (w, i) {
        return [{ name: w.name, xAxis: w.from, itemStyle: { color: WINDOW_COLORS[i % 2] } }, { xAxis: w.to }];
      }) };
    return series;
  }
  var builders = {
    histogram: function (d) {
      return Object.assign({}, base, { grid: { left: 36, right: 8, top: 8, bottom: 20 },
        xAxis: category(d.labels), yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: "帖子数", data: d.values, barMaxWidth: 28, itemStyle: { color: "#0b4f8a" } }] });
    },
    heat: function (d) {
      return Object.assign({}, base, { useUTC: true, legend: { top: 0 }, xAxis: timeAxis(d),
        yAxis: [{ type: "value", name: "帖子", minInterval: 1 }, { type: "value", name: "热度" }],
        series: [marked({ type: "bar", name: "帖子数", data: pairs(d.times, d.posts), barMaxWidth: 28,
                          itemStyle: { color: "#8fb4d9" } }, d),
                 { type: "line", name: "热度", yAxisIndex: 1, smooth: true, symbolSize: 7, data: pairs(d.times, d.heat),
                   itemStyle: { color: "#c62828" } }] });
    },
    sentiment: function (d) {
      function bar(name, data, color) {
        return { type: "bar", stack: "s", name: name, data: pairs(d.times, data), barMaxWidth: 28,
                 itemStyle: { color: color } };
      }
      return Object.assign({}, base, { useUTC: true, legend: { top: 0 }, xAxis: timeAxis(d),
        yAxis: { type: "value", minInterval: 1 },
        series: [marked(bar("负面", d.negative, "#c62828"), d), bar("中性", d.neutral, "#9aa6b2"),
                 bar("正面", d.positive, "#1f8a4c")] });
    },
    sources: function (d) {
      // the list under the chart names the slices (same colours, set by kind on the server)
      return { tooltip: { trigger: "item", renderMode: "richText" }, textStyle: base.textStyle,
        series: [{ type: "pie", name: "信源类型", radius: ["40%", "75%"], data: d.items, percentPrecision: 0,
                   label: { position: "inside", formatter: "{d}%", color: "#fff", fontSize: 11 } }] };
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
