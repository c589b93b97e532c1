/*
 * The dashboard page: reads the dashboard spec (dashboard/spec.ts, served as JSON) and draws each visual
 * from its view's rows with plain DOM and Chart.js. Served by local/dashboardServer.ts it fetches
 * `api/spec` and `api/views/<name>` and refreshes itself every `spec.refreshSeconds`; in the static export
 * the spec and rows are embedded as `window.__DASHBOARD_DATA__` and nothing is fetched.
 *
 * Every value from the data reaches the page through textContent, never innerHTML: coin names come from
 * an external API.
 */
(function () {
  "use strict";

  /** Static export payload: { spec, views: { <view>: rows }, generatedAt }; undefined when served. */
  var embedded = window.__DASHBOARD_DATA__;
  var PALETTE = ["#f7931a", "#627eea", "#26a17b", "#9945ff", "#e84142", "#2a9d8f", "#e9c46a", "#264653"];
  var UP = "#16a34a";
  var DOWN = "#dc2626";
  var NEUTRAL = "#64748b";

  var state = { spec: undefined, charts: {}, tables: {}, barRows: {}, refreshes: 0, lastSuccess: undefined, timer: undefined };

  // ---- formatting -------------------------------------------------------------------------------

  function toNumber(value) {
    if (value === null || value === undefined || value === "") return null;
    var n = typeof value === "number" ? value : Number(value);
    return isFinite(n) ? n : null;
  }

  function usdCompact(n) {
    var abs = Math.abs(n);
    var units = [
      [1e12, "T"],
      [1e9, "B"],
      [1e6, "M"],
      [1e3, "K"],
    ];
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][0]) return (n < 0 ? "-$" : "$") + (abs / units[i][0]).toFixed(2) + units[i][1];
    }
    return (n < 0 ? "-$" : "$") + abs.toFixed(2);
  }

  function usdPrice(n) {
    var abs = Math.abs(n);
    var text =
      abs >= 1
        ? abs.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
        : abs >= 0.01
          ? abs.toLocaleString("en-US", { minimumFractionDigits: 4, maximumFractionDigits: 4 })
          : abs.toLocaleString("en-US", { maximumSignificantDigits: 3 });
    return (n < 0 ? "-$" : "$") + text;
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function utcTime(seconds, withDate) {
    var d = new Date(seconds * 1000);
    var time = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (!withDate) return time;
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + time;
  }

  /** A value written as its field's format says (see FieldFormat in dashboard/spec.ts); null as an en dash. */
  function format(value, fmt) {
    if (fmt === "text") return value === null || value === undefined ? "–" : String(value);
    if (fmt === "symbol") return value === null || value === undefined ? "–" : String(value).toUpperCase();
    var n = toNumber(value);
    if (n === null) return "–";
    switch (fmt) {
      case "usdCompact":
        return usdCompact(n);
      case "usdPrice":
        return usdPrice(n);
      case "percent": {
        // Rounded before the sign is chosen, so -0.001 reads 0.00%, not -0.00%.
        var rounded = Math.round(n * 100) / 100 || 0;
        return (rounded > 0 ? "+" : "") + rounded.toFixed(2) + "%";
      }
      case "integer":
        return Math.round(n).toLocaleString("en-US");
      case "epochSeconds":
        return utcTime(n, true) + " UTC";
      default:
        return String(value);
    }
  }

  function trendClass(value) {
    var n = toNumber(value);
    return n === null || n === 0 ? "flat" : n > 0 ? "up" : "down";
  }

  // ---- layout -----------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fieldsOf(visual, role) {
    return visual.fields.filter(function (f) {
      return f.role === role;
    });
  }

  /** One card per visual, in spec order, spanning its grid columns. */
  function build(spec) {
    document.title = spec.title;
    document.getElementById("title").textContent = spec.title;
    var grid = document.getElementById("grid");
    grid.style.gridTemplateColumns = "repeat(" + spec.gridColumns + ", minmax(0, 1fr))";
    grid.textContent = "";
    spec.visuals.forEach(function (visual) {
      var card = el("section", "card card-" + visual.kind);
      card.id = "visual-" + visual.id;
      card.dataset.visual = visual.id;
      card.dataset.kind = visual.kind;
      card.style.gridColumn = "span " + visual.span;
      card.appendChild(el("h2", "card-title", visual.title));
      card.appendChild(el("p", "card-subtitle", visual.subtitle));
      var body = el("div", "card-body");
      if (visual.kind === "bar" || visual.kind === "line") {
        var frame = el("div", "chart-frame");
        frame.appendChild(document.createElement("canvas"));
        body.appendChild(frame);
      }
      card.appendChild(body);
      card.appendChild(el("p", "empty", "No data yet: the view has no rows. The first transform fills it."));
      grid.appendChild(card);
    });
  }

  // ---- visuals ----------------------------------------------------------------------------------

  function renderKpi(visual, card, rows) {
    var body = card.querySelector(".card-body");
    body.textContent = "";
    var row = rows[0];
    if (!row) return;
    var value = fieldsOf(visual, "value")[0];
    var main = el("div", "kpi-value", format(row[value.column], value.format));
    main.dataset.column = value.column;
    main.dataset.value = String(row[value.column]);
    body.appendChild(main);
    fieldsOf(visual, "delta").forEach(function (delta) {
      var v = row[delta.column];
      var cls = trendClass(v);
      var line = el("div", "kpi-delta " + cls);
      line.dataset.column = delta.column;
      line.dataset.value = v === null || v === undefined ? "" : String(v);
      line.appendChild(el("span", "arrow", cls === "up" ? "▲" : cls === "down" ? "▼" : "●"));
      line.appendChild(el("span", "delta-value", toNumber(v) === null ? "n/a" : format(v, delta.format)));
      line.appendChild(el("span", "delta-label", delta.label));
      body.appendChild(line);
    });
  }

  function compareRows(column, direction) {
    var sign = direction === "asc" ? 1 : -1;
    return function (a, b) {
      var x = a[column],
        y = b[column];
      var nx = toNumber(x),
        ny = toNumber(y);
      // Nulls go last whichever way the column is sorted.
      if ((x === null || x === undefined) && (y === null || y === undefined)) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (nx !== null && ny !== null) return sign * (nx - ny);
      return sign * String(x).localeCompare(String(y));
    };
  }

  function renderTable(visual, card, rows) {
    var columns = fieldsOf(visual, "column");
    var table = state.tables[visual.id];
    if (!table) {
      table = state.tables[visual.id] = { sort: visual.sort || null, rows: [] };
    }
    table.rows = rows;
    var body = card.querySelector(".card-body");
    body.textContent = "";
    if (rows.length === 0) return;
    var wrap = el("div", "table-wrap");
    var t = el("table", "data-table");
    var head = el("thead");
    var headRow = el("tr");
    columns.forEach(function (field) {
      var th = el("th");
      th.dataset.column = field.column;
      th.dataset.format = field.format;
      var active = table.sort && table.sort.column === field.column;
      th.setAttribute("aria-sort", active ? (table.sort.direction === "asc" ? "ascending" : "descending") : "none");
      if (field.sortable) {
        var button = el("button", "sort", field.label);
        button.type = "button";
        if (active) button.appendChild(el("span", "sort-mark", table.sort.direction === "asc" ? " ▲" : " ▼"));
        button.addEventListener("click", function () {
          var same = table.sort && table.sort.column === field.column;
          var direction = same ? (table.sort.direction === "asc" ? "desc" : "asc") : field.format === "integer" ? "asc" : "desc";
          table.sort = { column: field.column, direction: direction };
          renderTable(visual, card, table.rows);
        });
        th.appendChild(button);
      } else {
        th.textContent = field.label;
      }
      if (field.format !== "text" && field.format !== "symbol") th.className = "num";
      headRow.appendChild(th);
    });
    head.appendChild(headRow);
    t.appendChild(head);
    var sorted = rows.slice();
    if (table.sort) sorted.sort(compareRows(table.sort.column, table.sort.direction));
    var tbody = el("tbody");
    sorted.forEach(function (row) {
      var tr = el("tr");
      columns.forEach(function (field) {
        var v = row[field.column];
        var cls = field.format === "percent" ? "num " + trendClass(v) : field.format === "text" || field.format === "symbol" ? "" : "num";
        var td = el("td", cls, format(v, field.format));
        td.dataset.value = v === null || v === undefined ? "" : String(v);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    t.appendChild(tbody);
    wrap.appendChild(t);
    body.appendChild(wrap);
  }

  function tooltipLines(visual, row) {
    return fieldsOf(visual, "tooltip").map(function (f) {
      return f.label + ": " + format(row[f.column], f.format);
    });
  }

  function baseOptions() {
    return {
      responsive: true,
      maintainAspectRatio: false,
      // Redrawn every refresh; an animation would only delay the numbers.
      animation: false,
      plugins: { legend: { display: false } },
    };
  }

  function renderBar(visual, card, rows) {
    var category = fieldsOf(visual, "category")[0];
    var value = fieldsOf(visual, "value")[0];
    var sorted = rows.slice();
    if (visual.sort) sorted.sort(compareRows(visual.sort.column, visual.sort.direction));
    state.barRows[visual.id] = sorted;
    var data = {
      labels: sorted.map(function (r) {
        return format(r[category.column], category.format);
      }),
      datasets: [
        {
          label: value.label,
          data: sorted.map(function (r) {
            return toNumber(r[value.column]);
          }),
          backgroundColor: sorted.map(function (r) {
            var c = trendClass(r[value.column]);
            return c === "up" ? UP : c === "down" ? DOWN : NEUTRAL;
          }),
          borderRadius: 3,
        },
      ],
    };
    drawChart(visual.id, card.querySelector("canvas"), "bar", data, function () {
      var options = baseOptions();
      options.indexAxis = "y";
      options.scales = {
        x: {
          ticks: {
            callback: function (v) {
              return format(v, value.format);
            },
          },
        },
        y: { ticks: { autoSkip: false } },
      };
      options.plugins.tooltip = {
        callbacks: {
          label: function (ctx) {
            return value.label + ": " + format(ctx.parsed.x, value.format);
          },
          afterLabel: function (ctx) {
            return tooltipLines(visual, state.barRows[visual.id][ctx.dataIndex]);
          },
        },
      };
      return options;
    });
  }

  /** Ticks on whole UTC hours or days, at most about 8 of them, for an epoch-seconds axis. */
  function timeTicks(axis) {
    var steps = [3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) {
      if ((axis.max - axis.min) / steps[i] <= 8) {
        step = steps[i];
        break;
      }
    }
    var ticks = [];
    for (var t = Math.ceil(axis.min / step) * step; t <= axis.max; t += step) ticks.push({ value: t });
    axis.ticks = ticks;
    axis.timeStep = step;
  }

  function timeAxis() {
    return {
      type: "linear",
      afterBuildTicks: timeTicks,
      ticks: {
        autoSkip: false,
        maxRotation: 0,
        callback: function (v) {
          return this.timeStep >= 86400 || v % 86400 === 0 ? utcTime(v, true).slice(5, 10) : utcTime(v, false);
        },
      },
    };
  }

  /**
   * An axis label: prices with just the decimals the tick step needs ($66,000 and $0.9996, never a column
   * of identical $1.00), everything else as its field's format.
   */
  function axisLabel(value, field, ticks) {
    var step = ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) : 0;
    if (field.format !== "usdPrice" || !(step > 0)) return format(value, field.format);
    var decimals = step >= 1 ? 0 : Math.min(10, Math.ceil(-Math.log10(step) - 1e-9));
    return (
      (value < 0 ? "-$" : "$") +
      Math.abs(value).toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
    );
  }

  function valueAxis(field, position) {
    return {
      type: "linear",
      position: position,
      grace: "5%",
      title: { display: true, text: field.label },
      ticks: {
        maxTicksLimit: 6,
        callback: function (v, i, ticks) {
          return axisLabel(v, field, ticks);
        },
      },
    };
  }

  function linePoints(rows, x, y) {
    return rows
      .filter(function (r) {
        return toNumber(r[y.column]) !== null && toNumber(r[x.column]) !== null;
      })
      .map(function (r) {
        return { x: toNumber(r[x.column]), y: toNumber(r[y.column]), row: r };
      });
  }

  function lineDataset(label, points, color, field, axisId) {
    return {
      label: label,
      data: points,
      borderColor: color,
      backgroundColor: color,
      yAxisID: axisId,
      field: field,
      pointRadius: 0,
      borderWidth: 2,
      spanGaps: true,
    };
  }

  function lineOptions(visual, x, scales, legend) {
    var options = baseOptions();
    options.parsing = false;
    options.interaction = { mode: "index", intersect: false };
    options.plugins.legend = legend ? { display: true, position: "bottom", labels: { boxWidth: 12 } } : { display: false };
    options.scales = scales;
    options.plugins.tooltip = {
      callbacks: {
        title: function (items) {
          return items.length ? format(items[0].parsed.x, x.format) : "";
        },
        label: function (ctx) {
          return ctx.dataset.label + ": " + format(ctx.parsed.y, ctx.dataset.field.format);
        },
        afterBody: function (items) {
          return items.length ? tooltipLines(visual, items[0].raw.row) : [];
        },
      },
    };
    return options;
  }

  function renderLine(visual, card, rows) {
    var x = fieldsOf(visual, "x")[0];
    var ys = fieldsOf(visual, "y");
    var series = fieldsOf(visual, "series")[0];
    var sorted = rows.slice().sort(compareRows(x.column, "asc"));
    if (!series) {
      var left =
        ys.filter(function (y) {
          return y.axis !== "right";
        })[0] || ys[0];
      var right = ys.filter(function (y) {
        return y.axis === "right";
      })[0];
      var datasets = ys.map(function (y, i) {
        return lineDataset(y.label, linePoints(sorted, x, y), PALETTE[i % PALETTE.length], y, y.axis === "right" ? "y1" : "y");
      });
      drawChart(visual.id, card.querySelector("canvas"), "line", { datasets: datasets }, function () {
        var scales = { x: timeAxis(), y: valueAxis(left, "left") };
        if (right) {
          scales.y1 = valueAxis(right, "right");
          scales.y1.grid = { drawOnChartArea: false };
        }
        return lineOptions(visual, x, scales, true);
      });
      return;
    }
    var names = [];
    sorted.forEach(function (r) {
      if (names.indexOf(r[series.column]) < 0) names.push(r[series.column]);
    });
    names.sort();
    var y = ys[0];
    var groups = names.map(function (name, i) {
      return {
        name: name,
        color: PALETTE[i % PALETTE.length],
        points: linePoints(
          sorted.filter(function (r) {
            return r[series.column] === name;
          }),
          x,
          y,
        ),
      };
    });
    if (!visual.smallMultiples) {
      drawChart(
        visual.id,
        card.querySelector("canvas"),
        "line",
        {
          datasets: groups.map(function (g) {
            return lineDataset(format(g.name, series.format), g.points, g.color, y, "y");
          }),
        },
        function () {
          return lineOptions(visual, x, { x: timeAxis(), y: valueAxis(y, "left") }, true);
        },
      );
      return;
    }
    renderSmallMultiples(visual, card, groups, x, y, series);
  }

  /** One small chart per series value, each on its own y axis, headed by its last value and change. */
  function renderSmallMultiples(visual, card, groups, x, y, series) {
    var body = card.querySelector(".card-body");
    var grid = body.querySelector(".multiples");
    if (!grid) {
      body.textContent = "";
      grid = el("div", "multiples");
      body.appendChild(grid);
    }
    var wanted = groups.map(function (g) {
      return visual.id + "/" + g.name;
    });
    Object.keys(state.charts).forEach(function (key) {
      if (key.indexOf(visual.id + "/") === 0 && wanted.indexOf(key) < 0) {
        state.charts[key].destroy();
        delete state.charts[key];
        var stale = grid.querySelector('[data-series="' + CSS.escape(key.slice(visual.id.length + 1)) + '"]');
        if (stale) stale.remove();
      }
    });
    groups.forEach(function (g) {
      var key = visual.id + "/" + g.name;
      var cell = grid.querySelector('[data-series="' + CSS.escape(String(g.name)) + '"]');
      if (!cell) {
        cell = el("div", "multiple");
        cell.dataset.series = String(g.name);
        var head = el("div", "multiple-head");
        head.appendChild(el("span", "multiple-name"));
        head.appendChild(el("span", "multiple-last"));
        head.appendChild(el("span", "multiple-change"));
        cell.appendChild(head);
        var frame = el("div", "chart-frame chart-frame-small");
        frame.appendChild(document.createElement("canvas"));
        cell.appendChild(frame);
        grid.appendChild(cell);
      }
      var first = g.points.length ? g.points[0].y : null;
      var last = g.points.length ? g.points[g.points.length - 1].y : null;
      var change = first ? (100 * last) / first - 100 : null;
      cell.querySelector(".multiple-name").textContent = format(g.name, series.format);
      cell.querySelector(".multiple-last").textContent = format(last, y.format);
      var changeEl = cell.querySelector(".multiple-change");
      changeEl.textContent = change === null ? "" : format(change, "percent");
      changeEl.className = "multiple-change " + trendClass(change);
      drawChart(
        key,
        cell.querySelector("canvas"),
        "line",
        {
          datasets: [lineDataset(format(g.name, series.format), g.points, g.color, y, "y")],
        },
        function () {
          var scales = { x: timeAxis(), y: valueAxis(y, "left") };
          scales.y.title.display = false;
          return lineOptions(visual, x, scales, false);
        },
      );
    });
  }

  /** Creates a chart on first use, else swaps its data in place. */
  function drawChart(key, canvas, type, data, options) {
    var chart = state.charts[key];
    if (chart) {
      chart.data = data;
      chart.update("none");
      return;
    }
    state.charts[key] = new window.Chart(canvas, { type: type, data: data, options: options() });
  }

  var RENDERERS = { kpi: renderKpi, table: renderTable, bar: renderBar, line: renderLine };

  function render(spec, views) {
    spec.visuals.forEach(function (visual) {
      var card = document.getElementById("visual-" + visual.id);
      var rows = views[visual.view] || [];
      card.classList.toggle("is-empty", rows.length === 0);
      card.dataset.rows = String(rows.length);
      RENDERERS[visual.kind](visual, card, rows);
    });
  }

  // ---- data -------------------------------------------------------------------------------------

  function fetchJson(url) {
    return fetch(url, { cache: "no-store", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + " answered HTTP " + response.status);
      return response.json();
    });
  }

  function distinctViews(spec) {
    var names = [];
    spec.visuals.forEach(function (v) {
      if (names.indexOf(v.view) < 0) names.push(v.view);
    });
    return names;
  }

  function loadViews(spec) {
    if (embedded) return Promise.resolve(embedded.views);
    var names = distinctViews(spec);
    return Promise.all(
      names.map(function (name) {
        return fetchJson("api/views/" + encodeURIComponent(name));
      }),
    ).then(function (results) {
      var views = {};
      names.forEach(function (name, i) {
        views[name] = results[i];
      });
      return views;
    });
  }

  function newestSnapshot(views) {
    var newest = null;
    Object.keys(views).forEach(function (name) {
      (views[name] || []).forEach(function (row) {
        var t = toNumber(row.timestamp !== undefined ? row.timestamp : row.latest_timestamp);
        if (t !== null && (newest === null || t > newest)) newest = t;
      });
    });
    return newest;
  }

  function setStatus(text, kind) {
    var status = document.getElementById("status");
    status.textContent = text;
    status.className = "status " + (kind || "");
  }

  function refresh() {
    var spec = state.spec;
    return loadViews(spec).then(
      function (views) {
        render(spec, views);
        state.refreshes += 1;
        state.lastSuccess = new Date();
        var newest = newestSnapshot(views);
        var snapshot = newest === null ? "no materialised snapshot yet" : "newest snapshot " + format(newest, "epochSeconds");
        var when = embedded
          ? "exported " + format(Date.parse(embedded.generatedAt) / 1000, "epochSeconds")
          : "refreshed " + state.lastSuccess.toISOString().slice(11, 19) + " UTC, every " + spec.refreshSeconds + " s";
        setStatus(snapshot + " · " + when, "ok");
        document.body.dataset.state = "ready";
        document.body.dataset.refreshes = String(state.refreshes);
      },
      function (err) {
        var kept = state.lastSuccess ? "; showing data from " + state.lastSuccess.toISOString().slice(11, 19) + " UTC" : "";
        setStatus("refresh failed: " + err.message + kept, "error");
        if (!state.lastSuccess) document.body.dataset.state = "error";
      },
    );
  }

  function start() {
    var specLoaded = embedded ? Promise.resolve(embedded.spec) : fetchJson("api/spec");
    return specLoaded.then(
      function (spec) {
        state.spec = spec;
        build(spec);
        return refresh().then(function () {
          if (!embedded) state.timer = window.setInterval(refresh, spec.refreshSeconds * 1000);
        });
      },
      function (err) {
        setStatus("cannot load the dashboard spec: " + err.message, "error");
        document.body.dataset.state = "error";
      },
    );
  }

  // For tests and the curious: the Chart.js instances and a manual refresh.
  window.dashboard = {
    charts: state.charts,
    refresh: function () {
      return refresh();
    },
  };
  start();
})();
