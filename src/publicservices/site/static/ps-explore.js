/* publicservices explore: period picker, chart / table / map views, "highlight my area",
 * the compare page and permalinks, all in the browser from the site's own data scripts.
 *
 * A page's explore bar (<div class="ps-explore" data-ps-explore="indicator|area|compare">,
 * hidden until this script shows it) names the data scripts it needs (data-load):
 * data/explore/areas.js (window.PS_AREAS: [code, name, page]) and one script per indicator
 * (window.PS_EXPLORE[id]: periods and, per period, [code, value, lower, upper, comparison]);
 * data-more names the scripts needed only once an earlier period is picked (an area page's
 * every indicator), so a page opens with no more data than it draws.
 *
 * - Period: the indicator page's chart, table and maps are redrawn for the chosen period (maps by
 *   value in fifths of that period's areas); charts that cannot be redrawn (funnel, league, ...)
 *   say which period they show. The area page redraws its spine chart and lists its indicators
 *   in the chosen period; "latest" is each indicator's own latest period.
 * - Highlight my area: kept in localStorage ("ps-highlight"), so it follows the reader from page
 *   to page; every chart with a ps_highlight signal rings the area, and table and grid rows
 *   linking to its page are marked.
 * - Compare: two to six areas, every indicator side by side (a chart and a table each).
 * - Permalinks: ?period=…&view=…&area=…&areas=… (replaceState), read back on load.
 *
 * <html data-ps-explore="ready"> is set once the page's choices are drawn (tests wait for it).
 */
(function () {
  "use strict";
  var STORE = "ps-highlight";
  var MAX = 6;
  var state = { period: "", view: "", area: null, areas: [] };
  var bar = null;
  var root = "";
  var areas = { byCode: {}, byLabel: {}, list: [] };

  // -- helpers -----------------------------------------------------------------------------

  function load(src) {
    return window.PSCharts.load(src);  // ps-charts.js comes first on every page
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }

  function isNum(v) { return typeof v === "number" && isFinite(v); }

  // About 3 significant figures, thousands separators, the unit ("%" attached, others after a space),
  // as the site's pages write numbers (publicservices.display.format_number).
  function fmt(v, unit) {
    if (!isNum(v)) return "–";
    var a = Math.abs(v);
    var digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a || 1)));
    var text = v.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: a >= 100 ? 0 : digits });
    unit = (unit || "").trim();
    return unit === "%" ? text + "%" : unit ? text + " " + unit : text;
  }

  function interval(lo, hi) { return isNum(lo) && isNum(hi) ? fmt(lo) + " to " + fmt(hi) : "–"; }

  function say(text) {
    var status = bar && bar.querySelector(".ps-explore__status");
    if (status) status.textContent = text;
  }

  function charts() { // resolves once ps-charts.js has drawn (or failed) every figure
    return new Promise(function (resolve) {
      (function wait() {
        if (!document.querySelector("figure.ps-chart") || document.documentElement.getAttribute("data-ps-charts") === "done") resolve();
        else setTimeout(wait, 50);
      })();
    });
  }

  function copy(o) { return Object.assign({}, o); }

  // A table wider than its column scrolls inside itself, so it takes the keyboard's focus (as ps-charts.js does).
  function scrollable(table) {
    if (table.scrollWidth > table.clientWidth + 1) { table.tabIndex = 0; table.setAttribute("data-ps-scroll", "1"); }
    return table;
  }

  // -- URL state ---------------------------------------------------------------------------

  function readURL() {
    var q = new URLSearchParams(location.search);
    state.period = q.get("period") || "";
    state.view = q.get("view") || "";
    var area = q.get("area");
    state.areas = (q.get("areas") || "").split(",").filter(Boolean).slice(0, MAX);
    return area;
  }

  function writeURL() {
    var q = new URLSearchParams(location.search);
    var set = function (k, v) { if (v) q.set(k, v); else q.delete(k); };
    set("period", state.period);
    set("view", state.view);
    set("area", state.area ? state.area.code : "");
    if (bar && bar.getAttribute("data-ps-explore") === "compare") set("areas", state.areas.join(","));
    // written by hand, so "2019/20" and "A,B" stay readable in the address ("/" and "," are allowed in a query)
    var search = Array.from(q.entries()).map(function (kv) {
      return encodeURIComponent(kv[0]) + "=" + encodeURIComponent(kv[1]).replace(/%2F/g, "/").replace(/%2C/g, ",");
    }).join("&");
    try {
      history.replaceState(history.state, "", location.pathname + (search ? "?" + search : "") + location.hash);
    } catch (e) { /* a browser that refuses: the choices still work, only the address does not keep them */ }
  }

  // -- areas and the highlight -------------------------------------------------------------

  function indexAreas() {
    var rows = window.PS_AREAS || [];
    var count = {};
    rows.forEach(function (r) { count[r[1]] = (count[r[1]] || 0) + 1; });
    areas.list = rows.map(function (r) {
      var a = { code: r[0], name: r[1], page: r[2], label: count[r[1]] > 1 ? r[1] + " (" + r[0] + ")" : r[1] };
      areas.byCode[a.code] = a;
      areas.byLabel[a.label.toLowerCase()] = a;
      return a;
    });
    var list = document.getElementById("ps-area-list");
    if (list && !list.options.length) {
      var frag = document.createDocumentFragment();
      areas.list.forEach(function (a) { frag.appendChild(el("option", { value: a.label })); });
      list.appendChild(frag);
    }
  }

  function find(text) {
    text = String(text || "").trim();
    return areas.byLabel[text.toLowerCase()] || areas.byCode[text.toUpperCase()] || areas.byCode[text] || null;
  }

  function stored() {
    try { var a = JSON.parse(localStorage.getItem(STORE) || "null"); return a && a.code ? a : null; } catch (e) { return null; }
  }

  function store(a) {
    try {
      if (a) localStorage.setItem(STORE, JSON.stringify({ code: a.code, name: a.name, page: a.page }));
      else localStorage.removeItem(STORE);
    } catch (e) { /* private browsing: the highlight lasts for this page only */ }
  }

  function pageURL(page) { return new URL(rootOf() + page, location.href).href; }

  function rootOf() {
    if (bar) return bar.getAttribute("data-root") || "";
    // pages without a bar: the site's root from the assets' own address
    var me = document.querySelector("script[src*='assets/ps/ps-explore.js']");
    return me ? me.getAttribute("src").replace(/assets\/ps\/ps-explore\.js.*$/, "") : "";
  }

  function signalAll() {
    var code = state.area ? state.area.code : "";
    all("figure.ps-chart").forEach(function (f) { signal(f, code); });
  }

  function signal(figure, code) {
    var view = figure.psView;
    if (!view) return;
    try {
      if (view.signal("ps_highlight") !== code) view.signal("ps_highlight", code).runAsync();
    } catch (e) { /* a chart without area marks */ }
  }

  function markRows() {
    all("tr.ps-highlight-row").forEach(function (tr) { tr.classList.remove("ps-highlight-row"); });
    if (!state.area || !state.area.page) return;
    var target = pageURL(state.area.page);
    all("table a[href]").forEach(function (a) {
      if (a.href === target) {
        var tr = a.closest("tr");
        if (tr) tr.classList.add("ps-highlight-row");
      }
    });
  }

  function highlight(a, quiet) {
    state.area = a;
    store(a);
    var input = document.getElementById("ps-highlight");
    if (input) input.value = a ? a.label || a.name : "";
    signalAll();
    markRows();
    if (!quiet) {
      writeURL();
      say(a ? "Highlighting " + a.name + " in every chart and table." : "No area highlighted.");
    }
    if (!quiet && bar && bar.getAttribute("data-ps-explore") === "indicator") drawExploreChart(); // the area's name on the chart
  }

  function setUpHighlight() {
    var input = document.getElementById("ps-highlight");
    if (!input) return;
    var pick = function () {
      if (!input.value.trim()) { highlight(null); return; }
      var a = find(input.value);
      if (a) highlight(a);
      else say("No area called \u201c" + input.value.trim() + "\u201d: choose one from the list.");
    };
    input.addEventListener("change", pick);
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); pick(); } });
    var clear = bar.querySelector(".ps-explore__clear");
    if (clear) clear.addEventListener("click", function () { highlight(null); input.focus(); });
  }

  // -- tabs ----------------------------------------------------------------------------------

  function setUpTabs() {
    var radios = all("input[name='ps-view']");
    if (!radios.length) return;
    var chosen = radios.filter(function (r) { return r.value === state.view; })[0];
    if (chosen) chosen.checked = true;
    radios.forEach(function (r) {
      r.addEventListener("change", function () {
        if (!r.checked) return;
        state.view = r === radios[0] ? "" : r.value;
        writeURL();
        // a chart drawn while its tab was hidden is fitted to its column now it shows
        window.dispatchEvent(new Event("resize"));
      });
    });
  }

  // -- the indicator page ------------------------------------------------------------------

  function indicatorData() { return (window.PS_EXPLORE || {})[bar.getAttribute("data-indicator")]; }

  function periodOf(data) { return state.period && data.rows[state.period] ? state.period : data.latest; }

  function benchmarkOf(data, period) {
    var p = data.periods.filter(function (x) { return x.period === period; })[0];
    return p ? p.benchmark : null;
  }

  // The period's rows, best first (highest first where neither is better), areas without a value last.
  function ranked(data, period) {
    var low = data.polarity === "lower_is_better";
    var rows = (data.rows[period] || []).map(function (r) {
      var a = areas.byCode[r[0]] || { code: r[0], name: r[0], page: null };
      return { code: r[0], name: a.name, page: a.page, value: r[1], lower: r[2], upper: r[3], comparison: r[4] || "not compared" };
    });
    rows.sort(function (a, b) {
      if (!isNum(a.value) || !isNum(b.value)) return isNum(a.value) ? -1 : isNum(b.value) ? 1 : a.name.localeCompare(b.name);
      return low ? a.value - b.value : b.value - a.value;
    });
    return rows;
  }

  function drawExploreChart() {
    var figure = document.querySelector("figure.ps-chart[data-spec$='/explore']");
    var data = indicatorData();
    if (!figure || !data || !figure.psSpec || !window.PSCharts) return Promise.resolve();
    var period = periodOf(data);
    var bench = benchmarkOf(data, period);
    var values = ranked(data, period).filter(function (r) { return isNum(r.value); }).map(function (r, i) {
      return {
        area_code: r.code, _label: r.name, _href: r.page ? rootOf() + r.page : null, _rank: i + 1, value: r.value,
        lower_95: r.lower, upper_95: r.upper, comparison: r.comparison, benchmark: bench, period: period
      };
    });
    var spec = copy(figure.psSpec);
    spec.data = { values: values };
    spec.params = [{ name: "ps_highlight", value: state.area ? state.area.code : "" }];
    spec.title = copy(spec.title || {});
    spec.title.text = data.title + ", " + period;
    return window.PSCharts.redraw(figure, spec);
  }

  function buildPeriodTable(holder, data, period) {
    var rows = ranked(data, period);
    var intervals = rows.some(function (r) { return isNum(r.lower); });
    var table = el("table", { class: "ps-table" });
    var best = { higher_is_better: "best (highest)", lower_is_better: "best (lowest)" }[data.polarity] || "highest";
    table.appendChild(el("caption", {}, "All " + rows.length.toLocaleString("en-GB") + " areas in " + period +
      ", sorted by value, position 1 the " + best));
    var head = table.createTHead().insertRow();
    ["Position", "Area", "Value"].concat(intervals ? ["95% interval"] : []).concat(["Compared with benchmark"]).forEach(function (h) {
      head.appendChild(el("th", { scope: "col" }, h));
    });
    var body = table.createTBody();
    // positions as the site's own table gives them: tied values share the best place (1, 1, 3)
    var position = 0, counted = 0, previous = null;
    rows.forEach(function (r) {
      var tr = body.insertRow();
      if (isNum(r.value)) { counted += 1; if (r.value !== previous) { position = counted; previous = r.value; } }
      tr.appendChild(el("td", { class: "ps-num" }, isNum(r.value) ? position.toLocaleString("en-GB") : "–"));
      var name = tr.insertCell();
      if (r.page) name.appendChild(el("a", { href: rootOf() + r.page }, r.name));
      else name.textContent = r.name;
      tr.appendChild(el("td", { class: "ps-num" }, isNum(r.value) ? fmt(r.value, data.unit) : "hidden or not published"));
      if (intervals) tr.appendChild(el("td", {}, interval(r.lower, r.upper)));
      tr.appendChild(el("td", {}, isNum(r.value) ? r.comparison : "–"));
    });
    holder.textContent = "";
    holder.appendChild(el("p", {}, "Benchmark in " + period + ": " + fmt(benchmarkOf(data, period), data.unit) + "."));
    holder.appendChild(table);
    scrollable(table);
  }

  // The comparison colours of the categories present (as the site's own charts: display.PALETTE),
  // in legend order: an explicit domain, so a category the latest period lacked is never given
  // another's colour.
  function comparisonScale(words) {
    var present = (window.PS_COLOURS || []).filter(function (pair) { return words.indexOf(pair[0]) >= 0; });
    return { domain: present.map(function (pair) { return pair[0]; }), range: present.map(function (pair) { return pair[1]; }) };
  }

  // A map's rows for the period: the value and comparison of each tile's area; by value, in fifths.
  function mapSpec(figure, data, period) {
    var spec = figure.psOriginal;
    var rows = {};
    (data.rows[period] || []).forEach(function (r) { rows[r[0]] = r; });
    var datasets = spec.datasets || {};
    var name = spec.data && spec.data.name;
    var features = name && datasets[name];
    if (!Array.isArray(features) || !features.length || !features[0].properties || !("area_code" in features[0].properties)) return null;
    var colour = spec.encoding && spec.encoding.color && spec.encoding.color.condition;
    var byValue = colour && colour.field === "properties._class";
    var classes = {};
    var domain = null;
    if (byValue) {
      var words = (colour.scale.domain || []).map(function (d) { return String(d).split(":")[0]; });
      var low = data.polarity === "lower_is_better";
      var valued = Object.keys(rows).filter(function (c) { return isNum(rows[c][1]); })
        .sort(function (a, b) { return low ? rows[b][1] - rows[a][1] : rows[a][1] - rows[b][1]; });
      var n = valued.length;
      var spans = words.map(function () { return []; });
      valued.forEach(function (code, i) { var k = Math.min(words.length - 1, Math.floor(i * words.length / n)); classes[code] = k; spans[k].push(rows[code][1]); });
      domain = words.map(function (w, k) {
        var lo = Math.min.apply(null, spans[k]), hi = Math.max.apply(null, spans[k]);
        return spans[k].length ? w + ": " + (lo === hi ? fmt(lo, data.unit) : fmt(lo) + "\u2013" + fmt(hi, data.unit)) : w;
      });
      Object.keys(classes).forEach(function (c) { classes[c] = domain[classes[c]]; });
    }
    var out = copy(spec);
    out.datasets = copy(datasets);
    out.datasets[name] = features.map(function (f) {
      var r = rows[f.properties.area_code];
      var p = copy(f.properties);
      p.value = r && isNum(r[1]) ? r[1] : null;
      if ("comparison_95" in p) p.comparison_95 = r && isNum(r[1]) ? r[4] || "not compared" : null;
      if (byValue) { p._class = classes[p.area_code] || null; p.quintile_label = p._class ? p._class.split(":")[0] : null; }
      var g = copy(f);
      g.properties = p;
      return g;
    });
    if (!byValue && colour && colour.field === "properties.comparison_95") {
      out.encoding = copy(out.encoding);
      out.encoding.color = copy(out.encoding.color);
      var compared = copy(colour);
      compared.scale = comparisonScale(out.datasets[name].map(function (f) { return f.properties.comparison_95; }));
      out.encoding.color.condition = compared;
    }
    if (byValue) {
      out.encoding = copy(out.encoding);
      out.encoding.color = copy(out.encoding.color);
      var c = copy(colour);
      c.scale = copy(c.scale);
      c.scale.domain = domain;
      c.sort = domain;
      c.title = "Fifths of areas by value in " + period;
      out.encoding.color.condition = c;
    }
    out.title = copy(out.title || {});
    out.title.text = data.title + ", " + period;
    return out;
  }

  // Charts of the latest period only, and the All areas table, say so when another period is chosen.
  function staleNotes(data, period) {
    all(".ps-explore__stale").forEach(function (n) { n.remove(); });
    if (period === data.latest) return;
    var text = "This shows " + data.latest + ", the latest period; the Explore section above shows " + period + ".";
    all("figure.ps-chart").forEach(function (f) {
      var key = f.getAttribute("data-spec") || "";
      if (/\/(funnel|league|gradient|frontier)$/.test(key) || (/\/map(_value)?$/.test(key) && f.psStale)) {
        f.parentNode.insertBefore(el("p", { class: "ps-explore__stale" }, text), f);
      }
    });
    var heading = document.getElementById("all-areas");
    var table = heading && heading.nextElementSibling;
    if (table) table.parentNode.insertBefore(el("p", { class: "ps-explore__stale" }, text), table);
  }

  function showIndicatorPeriod() {
    var data = indicatorData();
    if (!data) return Promise.resolve();
    var period = periodOf(data);
    var jobs = [drawExploreChart()];
    var holder = document.querySelector(".ps-explore__table");
    if (holder) buildPeriodTable(holder, data, period);
    all("figure.ps-chart").forEach(function (f) {
      var key = f.getAttribute("data-spec") || "";
      if (!/\/map(_value)?$/.test(key) || !f.psSpec) return;
      f.psOriginal = f.psOriginal || f.psSpec;
      if (period === data.latest) {
        f.psStale = false;
        if (f.psSpec !== f.psOriginal) jobs.push(window.PSCharts.redraw(f, f.psOriginal));
        return;
      }
      var spec = mapSpec(f, data, period);
      f.psStale = !spec;
      if (spec) jobs.push(window.PSCharts.redraw(f, spec));
    });
    staleNotes(data, period);
    say("Showing " + period + (period === data.latest ? " (the latest period)" : "") + ": " +
      (data.rows[period] || []).filter(function (r) { return isNum(r[1]); }).length + " areas with a value.");
    return Promise.all(jobs).then(markRows);
  }

  // -- the area page -----------------------------------------------------------------------

  function quantile(sorted, q) {
    var pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  // This area's row of each indicator in the period (its latest where none is chosen), with the
  // spread of all areas as the spine chart draws it (publicservices.charts.spine: better to the right).
  function areaRows(code) {
    var out = [];
    indicatorIds().forEach(function (id) {
      var data = window.PS_EXPLORE[id];
      var period = state.period || data.latest;
      var rows = data.rows[period];
      if (!rows) return;
      var mine = rows.filter(function (r) { return r[0] === code; })[0];
      var values = rows.map(function (r) { return r[1]; }).filter(isNum).sort(function (a, b) { return a - b; });
      if (!values.length) return;
      var low = data.polarity === "lower_is_better";
      var min = values[0], max = values[values.length - 1], q1 = quantile(values, 0.25), q3 = quantile(values, 0.75);
      var bench = benchmarkOf(data, period);
      if (!isNum(bench)) bench = (min + max) / 2;
      var half = Math.max(Math.abs(max - bench), Math.abs(bench - min));
      var x = function (v) { return half > 0 ? Math.round((0.5 + (low ? -1 : 1) * (v - bench) / (2 * half)) * 1e4) / 1e4 : 0.5; };
      out.push({
        data: data, period: period, mine: mine, bench: bench,
        spine: mine && isNum(mine[1]) ? {
          title: data.title, _href: rootOf() + data.page, x_worst: x(low ? max : min), x_q25: x(low ? q3 : q1), x_q75: x(low ? q1 : q3), x_best: x(low ? min : max),
          x_area: x(mine[1]), area_text: fmt(mine[1], data.unit), benchmark_text: fmt(bench, data.unit),
          worst_text: fmt(low ? max : min, data.unit), best_text: fmt(low ? min : max, data.unit), category: mine[4] || "not compared"
        } : null
      });
    });
    return out;
  }

  // The data an earlier period needs (an area page's every indicator), loaded the first time it is asked for.
  // The indicators in page order: the order the bar lists their scripts (data/explore/<id>.js), not
  // the order they happened to arrive in.
  function indicatorIds() {
    var names = ((bar.getAttribute("data-load") || "") + " " + (bar.getAttribute("data-more") || "")).split(/\s+/);
    return names.map(function (n) { return decodeURIComponent(n.split("/").pop().replace(/\.js$/, "")); })
      .filter(function (id) { return (window.PS_EXPLORE || {})[id]; });
  }

  function loadMore() {
    var more = (bar.getAttribute("data-more") || "").split(/\s+/).filter(Boolean);
    return Promise.all(more.map(load));
  }

  function showAreaPeriod() {
    if (state.period && bar.getAttribute("data-more") && !bar.psMore) {
      say("Loading every indicator's figures for " + state.period + "\u2026");
      return loadMore().then(function () { bar.psMore = true; return showAreaPeriod(); });
    }
    var code = bar.getAttribute("data-area");
    var found = areaRows(code);
    var figure = document.querySelector("figure.ps-chart[data-spec='areas/spine']");
    var jobs = [];
    if (figure && figure.psSpec && window.PSCharts) {
      figure.psOriginal = figure.psOriginal || figure.psSpec;
      if (!state.period) {
        if (figure.psSpec !== figure.psOriginal) jobs.push(window.PSCharts.redraw(figure, figure.psOriginal));
      } else {
        var spec = copy(figure.psOriginal);
        spec.data = { values: found.map(function (f) { return f.spine; }).filter(Boolean) };
        spec.title = copy(spec.title || {});
        spec.title.text = "Against all areas, " + state.period;
        jobs.push(window.PSCharts.redraw(figure, spec));
      }
    }
    var holder = bar.parentNode.querySelector(".ps-explore__area-table");
    var original = holder ? holder.nextElementSibling : null;
    if (!holder) {
      holder = el("div", { class: "ps-explore__area-table" });
      original = bar.nextElementSibling;
      while (original && !(original.tagName === "TABLE" && original.classList.contains("ps-table"))) original = original.nextElementSibling;
      (original || bar).parentNode.insertBefore(holder, original || bar.nextSibling);
    }
    var latestTable = holder.nextElementSibling;
    if (!state.period) {
      holder.hidden = true;
      if (latestTable) latestTable.hidden = false;
    } else {
      holder.textContent = "";
      var table = el("table", { class: "ps-table" });
      var name = (areas.byCode[code] || { name: code }).name;
      table.appendChild(el("caption", {}, name + ": every indicator in " + state.period));
      var head = table.createTHead().insertRow();
      ["Indicator", "Value", "95% interval", "Benchmark", "Compared with benchmark"].forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
      var body = table.createTBody();
      found.forEach(function (f) {
        var tr = body.insertRow();
        tr.insertCell().appendChild(el("a", { href: rootOf() + f.data.page }, f.data.title));
        var v = f.mine && isNum(f.mine[1]);
        tr.appendChild(el("td", { class: "ps-num" }, v ? fmt(f.mine[1], f.data.unit) : "–"));
        tr.appendChild(el("td", {}, v ? interval(f.mine[2], f.mine[3]) : "–"));
        tr.appendChild(el("td", { class: "ps-num" }, fmt(f.bench, f.data.unit)));
        tr.appendChild(el("td", {}, v ? f.mine[4] || "not compared" : "–"));
      });
      holder.appendChild(table);
      scrollable(table);
      if (!found.length) holder.appendChild(el("p", {}, "No indicator has a figure for " + state.period + "."));
      holder.hidden = false;
      if (latestTable) latestTable.hidden = true;
    }
    say(state.period ? "Showing " + state.period + ": " + found.length + " indicators have figures for it." : "Showing each indicator's latest period.");
    return Promise.all(jobs);
  }

  // -- the compare page ----------------------------------------------------------------------

  function compareSpec(data, period, rows, bench) {
    var unit = (data.unit || "").trim();
    var title = unit === "%" ? "per cent" : unit || "value";
    var x = { type: "quantitative", title: title, scale: { zero: false } };
    var y = { field: "_label", type: "nominal", title: null, sort: null, axis: { labelLimit: 200 } };
    var test = "ps_highlight !== '' && datum.area_code === ps_highlight";
    var colours = comparisonScale(rows.map(function (r) { return r.comparison; }));
    var layers = [
      { mark: { type: "rule", color: "#6E6E6E", strokeWidth: 2 }, encoding: { x: Object.assign({ field: "lower_95" }, x), x2: { field: "upper_95" }, y: y } },
      { mark: { type: "point", filled: true, size: 90, opacity: 1, cursor: "pointer" }, encoding: {
        x: Object.assign({ field: "value" }, x), y: y,
        color: { field: "comparison", type: "nominal", scale: colours, legend: { title: "compared with benchmark", orient: "bottom" } },
        stroke: { condition: { test: test, value: "currentColor" }, value: null },
        strokeWidth: { condition: { test: test, value: 3 }, value: 0 },
        href: { field: "_href", type: "nominal" },
        tooltip: [{ field: "_label", title: "area" }, { field: "value", title: title, format: ",.3~f" },
          { field: "lower_95", title: "95% lower", format: ",.3~f" }, { field: "upper_95", title: "95% upper", format: ",.3~f" },
          { field: "comparison", title: "compared with benchmark" }]
      } }
    ];
    if (isNum(bench)) layers.push({ data: { values: [{ benchmark: bench }] }, mark: { type: "rule", color: "#6E6E6E", strokeDash: [4, 3] },
      encoding: { x: Object.assign({ field: "benchmark" }, x), tooltip: [{ field: "benchmark", format: ",.3~f" }] } });
    return {
      data: { values: rows }, params: [{ name: "ps_highlight", value: state.area ? state.area.code : "" }],
      width: 420, height: { step: 30 },
      title: { text: data.title, subtitle: period + (isNum(bench) ? "; benchmark " + fmt(bench, unit) + " (dashed)" : ""), anchor: "start" },
      layer: layers
    };
  }

  function compareTable(data, period, rows, bench) {
    var table = el("table", { class: "ps-table" });
    table.appendChild(el("caption", {}, data.title + ", " + period));
    var head = table.createTHead().insertRow();
    ["Area", "Value", "95% interval", "Compared with benchmark"].forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
    var body = table.createTBody();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      var cell = tr.insertCell();
      if (r._href) cell.appendChild(el("a", { href: r._href }, r._label)); else cell.textContent = r._label;
      tr.appendChild(el("td", { class: "ps-num" }, fmt(r.value, data.unit)));
      tr.appendChild(el("td", {}, interval(r.lower_95, r.upper_95)));
      tr.appendChild(el("td", {}, isNum(r.value) ? r.comparison : "–"));
    });
    var tr = body.insertRow();
    tr.appendChild(el("th", { scope: "row" }, "Benchmark"));
    tr.appendChild(el("td", { class: "ps-num" }, fmt(bench, data.unit)));
    tr.appendChild(el("td", {}, ""));
    tr.appendChild(el("td", {}, ""));
    return table;
  }

  function renderChosen(box) {
    var list = box.querySelector(".ps-compare__chosen");
    list.textContent = "";
    state.areas.forEach(function (code) {
      var a = areas.byCode[code];
      var li = el("li");
      li.appendChild(el("a", { href: rootOf() + a.page }, a.name));
      var b = el("button", { type: "button", class: "ps-explore__button ps-compare__remove", "data-code": code, "aria-label": "Remove " + a.name }, "Remove");
      b.addEventListener("click", function () {
        state.areas = state.areas.filter(function (c) { return c !== code; });
        showCompare(box);
        var next = box.querySelector(".ps-compare__remove") || box.querySelector(".ps-compare__add");
        if (next) next.focus();
      });
      li.appendChild(document.createTextNode(" "));
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function showCompare(box, loading) {
    state.areas = state.areas.filter(function (c, i, arr) { return areas.byCode[c] && arr.indexOf(c) === i; }).slice(0, MAX);
    if (!loading) writeURL();
    renderChosen(box);
    var note = box.querySelector(".ps-compare__note");
    var results = box.querySelector(".ps-compare__results");
    var add = box.querySelector(".ps-compare__add");
    var button = box.querySelector(".ps-compare__add-button");
    add.disabled = button.disabled = state.areas.length >= MAX;
    results.textContent = "";
    if (state.areas.length < 2) {
      note.textContent = state.areas.length ? "Add at least one more area to compare." : "Add two to six areas to compare.";
      return Promise.resolve();
    }
    note.textContent = "Comparing " + state.areas.length + " areas" + (state.areas.length >= MAX ? " (six at most)." : ".");
    var jobs = [];
    indicatorIds().forEach(function (id, n) {
      var data = window.PS_EXPLORE[id];
      var period = state.period || data.latest;
      var byCode = {};
      (data.rows[period] || []).forEach(function (r) { byCode[r[0]] = r; });
      var bench = benchmarkOf(data, period);
      var rows = state.areas.map(function (code) {
        var a = areas.byCode[code], r = byCode[code] || [];
        return { area_code: code, _label: a.name, _href: rootOf() + a.page, value: isNum(r[1]) ? r[1] : null,
          lower_95: isNum(r[2]) ? r[2] : null, upper_95: isNum(r[3]) ? r[3] : null, comparison: r[4] || "not compared" };
      });
      var section = el("section", { class: "ps-compare__indicator" });
      var h = el("h2", { id: "ps-compare-" + n });
      h.appendChild(el("a", { href: rootOf() + data.page }, data.title));
      section.appendChild(h);
      if (!data.rows[period]) {
        section.appendChild(el("p", {}, "No figures for " + period + "."));
        results.appendChild(section);
        return;
      }
      var figure = el("figure", { class: "ps-chart ps-compare__chart", "data-spec": "compare/" + id });
      figure.appendChild(el("div", { class: "ps-chart__view", role: "img", "aria-label": "Chart of " + data.title + " in " + period + " for the areas compared; the table below gives the numbers." }));
      section.appendChild(figure);
      var table = compareTable(data, period, rows, bench);
      section.appendChild(table);
      results.appendChild(section);
      scrollable(table);
      if (rows.some(function (r) { return isNum(r.value); })) {
        jobs.push(window.PSCharts.redraw(figure, compareSpec(data, period, rows.filter(function (r) { return isNum(r.value); }), bench))
          .catch(function (e) { figure.classList.add("ps-chart--failed"); console.warn("publicservices compare: " + e.message); }));
      }
    });
    return Promise.all(jobs).then(markRows);
  }

  function setUpCompare() {
    var box = document.querySelector(".ps-compare");
    if (!box) return Promise.resolve();
    box.hidden = false;
    var add = box.querySelector(".ps-compare__add");
    var pick = function () {
      var a = find(add.value);
      if (!a) { box.querySelector(".ps-compare__note").textContent = "No area called \u201c" + add.value.trim() + "\u201d: choose one from the list."; return; }
      if (state.areas.indexOf(a.code) < 0 && state.areas.length < MAX) state.areas.push(a.code);
      add.value = "";
      showCompare(box);
      add.focus();
    };
    box.querySelector(".ps-compare__add-button").addEventListener("click", pick);
    add.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); pick(); } });
    if (!state.areas.length && state.area) state.areas = [state.area.code];
    return showCompare(box, true);
  }

  // -- start ---------------------------------------------------------------------------------

  function show() {
    var kind = bar.getAttribute("data-ps-explore");
    if (kind === "indicator") return showIndicatorPeriod();
    if (kind === "area") return showAreaPeriod();
    return showCompare(document.querySelector(".ps-compare"));
  }

  function start() {
    bar = document.querySelector(".ps-explore[data-ps-explore]");
    var fromURL = readURL();
    if (!bar) { // any other page: the highlight from earlier pages, in its charts and tables
      state.area = stored();
      document.addEventListener("ps-chart-drawn", function (e) { signal(e.target, state.area ? state.area.code : ""); });
      charts().then(function () { signalAll(); markRows(); document.documentElement.setAttribute("data-ps-explore", "ready"); });
      return;
    }
    bar.hidden = false;
    var select = bar.querySelector(".ps-explore__period");
    // "" is the latest period (each indicator's own on area and compare pages): the address leaves it out
    var latest = function (o) { return !o || o.value === "" || /\(latest\)$/.test(o.textContent); };
    if (select) {
      var found = Array.prototype.filter.call(select.options, function (o) { return o.value === state.period; })[0];
      if (found) select.value = state.period;
      if (!found || latest(found)) state.period = "";
      select.addEventListener("change", function () {
        state.period = latest(select.selectedOptions[0]) ? "" : select.value;
        writeURL();
        show();
      });
    }
    setUpTabs();
    document.addEventListener("ps-chart-drawn", function (e) { signal(e.target, state.area ? state.area.code : ""); });
    var scripts = (bar.getAttribute("data-load") || "").split(/\s+/).filter(Boolean);
    Promise.all(scripts.map(load))
      .then(function () {
        indexAreas();
        var a = fromURL ? find(fromURL) : stored();
        if (a && !a.label) a = areas.byCode[a.code] || a;
        state.area = a || null;
        if (fromURL && a) store(a);
        setUpHighlight();
        return charts();
      })
      .then(function () {
        highlight(state.area, true);
        var kind = bar.getAttribute("data-ps-explore");
        return kind === "compare" ? setUpCompare() : show();
      })
      .then(function () { document.documentElement.setAttribute("data-ps-explore", "ready"); })
      .catch(function (error) {
        say("The explore tools could not start (" + error.message + "); the tables on this page give every figure.");
        console.warn("publicservices explore: " + error.message);
        document.documentElement.setAttribute("data-ps-explore", "failed");
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
