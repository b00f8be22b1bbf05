/* publicservices chart loader.
 *
 * Each <figure class="ps-chart"> names the scripts it needs (data-load: chart specs and
 * shared data, relative to the page) and its spec (data-spec). Scripts are added as plain
 * <script src> elements, which browsers load from file:// as well as over http. Specs refer
 * to shared data sets by name; the figure's own rows come inline (a JSON script block). The figure
 * is marked ps-chart--drawn or ps-chart--failed, and <html data-ps-charts="done"> is set
 * when every figure on the page has finished.
 *
 * Every chart is drawn at a size its column can hold, with text of at least 11 px: where the
 * spec is wider than the column (a phone), it is redrawn in a compact form (see compact()):
 * sized to the column, legends below, long titles wrapped, side-by-side panels stacked, and
 * charts with a row per label (spine, postcode lottery) as one row per label with the label
 * above its marks. Once the spec is known the figure gets its tools (a page without scripts
 * has none): a button that shows the chart's data as an HTML table in the figure's hidden
 * .ps-chart__table (built from the rows the spec draws, as text only) and, once drawn, PNG
 * and SVG downloads made by the Vega view, with no network.
 */
(function () {
  "use strict";
  var loading = {};
  var MIN_FONT = 11; // px on screen: no chart text smaller
  var VIEW_KEYS = ["layer", "hconcat", "vconcat", "concat", "facet", "repeat", "spec", "mark"];
  var NUMERIC = /^[-\u2212+]?[£$€]?[\d.,]+(?:%| [a-z ,0-9()]{0,24})?$/; // "80.1%", "33.6 per 100,000", "£2,166"
  var ENCODED = ["x", "y", "x2", "y2", "theta", "color", "fill", "size", "shape", "text", "detail"];

  function load(src) {
    var url = new URL(src, document.baseURI).href;
    if (!loading[url]) {
      loading[url] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = url;
        s.onload = function () { resolve(); };
        s.onerror = function () { reject(new Error("could not load " + src)); };
        document.head.appendChild(s);
      });
    }
    return loading[url];
  }

  function fill(node, data) {
    if (Array.isArray(node)) return node.map(function (n) { return fill(n, data); });
    if (!node || typeof node !== "object") return node;
    var out = {};
    if (typeof node.name === "string" && Object.prototype.hasOwnProperty.call(data, node.name) &&
        !Object.prototype.hasOwnProperty.call(node, "values")) {
      Object.keys(node).forEach(function (k) { if (k !== "name") out[k] = node[k]; });
      out.values = data[node.name];
      return out;
    }
    Object.keys(node).forEach(function (k) { out[k] = k === "datasets" ? node[k] : fill(node[k], data); });
    return out;
  }

  function isObject(x) { return !!x && typeof x === "object" && !Array.isArray(x); }

  // b over a, object by object (a spec's own config wins over the theme, key by key)
  function merge(a, b) {
    var out = Object.assign({}, a);
    Object.keys(b || {}).forEach(function (k) {
      out[k] = isObject(out[k]) && isObject(b[k]) ? merge(out[k], b[k]) : b[k];
    });
    return out;
  }

  // a copy of the spec's structure; data rows and named data sets are shared, never copied
  function copy(node) {
    if (Array.isArray(node)) return node.map(copy);
    if (!isObject(node)) return node;
    var out = {};
    Object.keys(node).forEach(function (k) { out[k] = k === "values" || k === "datasets" ? node[k] : copy(node[k]); });
    return out;
  }

  function dark() {
    var scheme = document.body && document.body.getAttribute("data-md-color-scheme");
    return scheme === "slate";
  }

  function theme() {
    var fg = dark() ? "#e2e4e9" : "#1f2328";
    var size = { labelFontSize: MIN_FONT, titleFontSize: MIN_FONT + 1 };
    return {
      background: null,
      title: { color: fg, subtitleColor: fg, fontSize: 14, subtitleFontSize: 12 },
      axis: merge(size, { labelColor: fg, titleColor: fg, domainColor: fg, tickColor: fg, gridColor: dark() ? "#3b3f4a" : "#e5e5e5" }),
      legend: merge(size, { labelColor: fg, titleColor: fg }),
      header: merge(size, { labelColor: fg, titleColor: fg, labelFontSize: 12 }),
      text: { fontSize: MIN_FONT + 1 },
      view: { stroke: null }
    };
  }

  // -- sizing ------------------------------------------------------------------------------

  function num(x, fallback) { return typeof x === "number" && isFinite(x) ? x : fallback; }

  // About how wide the spec draws (px): its views, plus room for axes and labels.
  function natural(spec) {
    if (spec.hconcat) {
      return spec.hconcat.reduce(function (sum, s) { return sum + natural(s); }, 0) + num(spec.spacing, 20) * (spec.hconcat.length - 1);
    }
    if (spec.vconcat || spec.concat) {
      return Math.max.apply(null, (spec.vconcat || spec.concat).map(natural));
    }
    if (spec.facet && spec.spec) {
      var columns = Math.max(1, num(spec.columns, 1));
      return columns * (num(spec.spec.width, 200) + 20) + 40;
    }
    var label = nominalY(spec);
    var labels = label ? num(label.axis && label.axis.labelLimit, 180) : 50;
    return num(spec.width, 300) + labels + 20;
  }

  // The y encoding of a unit or layered view when it is a list of labels (one row per label).
  function nominalY(spec) {
    var found = null;
    [spec].concat(spec.layer || []).forEach(function (s) {
      var y = s.encoding && s.encoding.y;
      if (!found && y && y.field && (y.type === "nominal" || y.type === "ordinal") && y.axis !== null &&
          !(y.axis && y.axis.labels === false)) found = y;
    });
    return found;
  }

  // Words into lines of about `chars` characters.
  function wrap(text, chars) {
    var lines = [];
    [].concat(text).forEach(function (t) {
      var line = "";
      String(t).split(/\s+/).forEach(function (word) {
        if (line && (line + " " + word).length > chars) { lines.push(line); line = word; }
        else line = line ? line + " " + word : word;
      });
      if (line) lines.push(line);
    });
    return lines.length === 1 ? lines[0] : lines;
  }

  function wrapTitle(spec, width) {
    if (spec.title === undefined || spec.title === null) return;
    var title = typeof spec.title === "object" && !Array.isArray(spec.title) ? spec.title : { text: spec.title };
    title.text = wrap(title.text, Math.max(12, Math.floor(width / 8.5))); // 14 px bold: about 8.5 px a character
    if (title.subtitle) title.subtitle = wrap(title.subtitle, Math.max(12, Math.floor(width / 6.8)));
    title.anchor = title.anchor || "start";
    title.frame = "bounds"; // from the chart's left edge, not the plot's (past the y axis)
    title.offset = Math.max(num(title.offset, 0), 8);
    spec.title = title;
  }

  // Legends below the plot, two columns at most, labels cut to fit the width; long x axis
  // titles on two lines or more.
  function narrowLegends(node, width) {
    if (Array.isArray(node)) { node.forEach(function (n) { narrowLegends(n, width); }); return; }
    if (!isObject(node)) return;
    Object.keys(node).forEach(function (k) {
      if (k === "values" || k === "datasets" || k === "data") return;
      var v = node[k];
      if (k === "legend" && isObject(v)) {
        if (v.orient !== "none" && v.orient !== undefined) v.orient = "bottom";
        if (v.columns === undefined || v.columns > 2) v.columns = 2;
        v.labelLimit = Math.max(60, Math.floor((width - 70) / 2) - 36); // two columns beside the y axis's width
        v.titleLimit = Math.max(80, width - 80);
        return;
      }
      if (k === "x" && isObject(v)) {
        var chars = Math.max(16, Math.floor((width - 60) / 6.8)); // 12 px bold: about 6.8 px a character
        if (typeof v.title === "string" && v.title.length > chars) v.title = wrap(v.title, chars);
        if (isObject(v.axis) && typeof v.axis.title === "string" && v.axis.title.length > chars) v.axis.title = wrap(v.axis.title, chars);
      }
      narrowLegends(v, width);
    });
  }

  // A view with a row per label, redrawn as one small row per label with the label above its marks.
  function stackRows(spec, y, width) {
    var inner = { width: width, height: 20 };
    var layers = spec.layer ? spec.layer : [{ mark: spec.mark, encoding: spec.encoding }];
    inner.layer = layers.map(function (layer) {
      var l = Object.assign({}, layer);
      if (l.encoding) { l.encoding = Object.assign({}, l.encoding); delete l.encoding.y; delete l.encoding.y2; }
      return l;
    });
    if (spec.layer && spec.encoding) {
      inner.encoding = Object.assign({}, spec.encoding);
      delete inner.encoding.y;
      delete inner.encoding.y2;
    }
    var out = {};
    Object.keys(spec).forEach(function (k) {
      if (VIEW_KEYS.indexOf(k) < 0 && k !== "encoding" && k !== "width" && k !== "height" && k !== "autosize") out[k] = spec[k];
    });
    // rows in the order the spec gives, else in the order of the data (a facet would sort by label)
    var sort = y.sort;
    if (!Array.isArray(sort) && !(isObject(sort) && sort.field)) {
      if (sort === null || sort === undefined) {
        out.transform = (out.transform || []).concat([{ window: [{ op: "row_number", as: "_ps_row" }] }]);
        sort = { field: "_ps_row", op: "min" };
      }
    }
    out.facet = {
      row: {
        field: y.field, type: "nominal", sort: sort, title: null,
        header: { labelAngle: 0, labelOrient: "top", labelAnchor: "start", labelAlign: "left", labelBaseline: "top",
                  labelLimit: width, labelPadding: 4, labelFontSize: 12 }
      }
    };
    out.spacing = { row: 12 };
    out.spec = inner;
    return out;
  }

  // The compact form of a spec for a column `avail` px wide.
  function compact(spec, avail) {
    var s = copy(spec);
    var width = avail - 12; // Vega's padding, both sides
    narrowLegends(s, width);
    wrapTitle(s, width);
    if (s.hconcat) { // side-by-side panels, stacked
      s.vconcat = s.hconcat;
      delete s.hconcat;
    }
    if (s.vconcat || s.concat) {
      (s.vconcat || s.concat).forEach(function (panel) {
        wrapTitle(panel, width);
        if (panel.layer || panel.mark) {
          var h = num(panel.height, 0);
          panel.width = Math.max(120, width - 60);
          if (h > 300) panel.height = 300;
        }
      });
      if (s.concat) s.columns = 1;
      return s;
    }
    if (s.facet && s.spec) { // small multiples, one a row
      s.columns = 1;
      s.spec.width = Math.max(120, width - 60);
      if (s.facet.header) s.facet.header.labelLimit = Math.max(120, width - 40);
      return s;
    }
    var y = nominalY(s);
    var ownData = (s.layer || []).some(function (l) { return l.data; });
    if (y && !ownData) return stackRows(s, y, width);
    if (s.layer || s.mark) {
      var geo = s.mark === "geoshape" || (s.mark && s.mark.type === "geoshape");
      if (geo) {
        var ratio = num(s.height, width) / num(s.width, width);
        s.width = width;
        s.height = Math.round(width * ratio);
      } else {
        s.width = width;
        s.autosize = { type: "fit-x", contains: "padding" };
      }
    }
    return s;
  }

  // -- the data as a table ----------------------------------------------------------------

  // Every mark's view: its data (own or inherited), its encoding (with a layer's shared one) and facets.
  function views(node, data, encoding, facets, out) {
    if (!isObject(node)) return out;
    var d = node.data || data;
    var f = facets.slice();
    if (node.facet) {
      if (node.facet.field) f.push(node.facet);
      ["row", "column"].forEach(function (k) { if (node.facet[k] && node.facet[k].field) f.push(node.facet[k]); });
    }
    var enc = Object.assign({}, encoding || {}, node.encoding || {});
    ["row", "column", "facet"].forEach(function (k) { if (enc[k] && enc[k].field) f.push(enc[k]); });
    if (node.mark) out.push({ data: d, encoding: enc, facets: f });
    (node.layer || []).forEach(function (child) { views(child, d, enc, f, out); });
    ["hconcat", "vconcat", "concat"].forEach(function (k) {
      (node[k] || []).forEach(function (child) { views(child, d, null, f, out); });
    });
    if (node.spec) views(node.spec, d, null, f, out);
    return out;
  }

  function rowsOf(data, spec) {
    if (!data) return [];
    var values = data.values;
    if (values === undefined && data.name && spec.datasets) values = spec.datasets[data.name];
    if (values && data.format && data.format.property) {
      data.format.property.split(".").forEach(function (p) { values = values && values[p]; });
    }
    return Array.isArray(values) ? values : [];
  }

  function getter(field) {
    var path = String(field).split(/(?<!\\)\./).map(function (p) { return p.replace(/\\\./g, "."); });
    return function (row) {
      if (row && Object.prototype.hasOwnProperty.call(row, field)) return row[field];
      return path.reduce(function (v, p) { return v === null || v === undefined ? undefined : v[p]; }, row);
    };
  }

  function titleOf(def) {
    var t = def.title;
    if (t === undefined || t === null) t = def.axis && def.axis.title;
    if (t === undefined || t === null) t = def.legend && def.legend.title;
    if (t === undefined || t === null) t = String(def.field).replace(/^properties\./, "").replace(/^_+/, "").replace(/_/g, " ");
    return Array.isArray(t) ? t.join(" ") : String(t);
  }

  // A d3-format specifier's common forms (",.3~f", ".1f", ".0%", "d"), with Intl.
  function formatter(spec) {
    var m = /^(,)?(?:\.(\d+))?(~)?([fde%]?)$/.exec(spec || "");
    if (!spec || !m) {
      return function (v) { return typeof v === "number" ? v.toLocaleString("en-GB", { maximumFractionDigits: 6 }) : v; };
    }
    var digits = m[2] === undefined ? (m[4] === "d" ? 0 : 6) : +m[2];
    var options = { useGrouping: !!m[1], maximumFractionDigits: digits, minimumFractionDigits: m[3] || m[2] === undefined ? 0 : digits };
    return function (v) {
      if (typeof v !== "number" || !isFinite(v)) return v;
      if (m[4] === "%") return (v * 100).toLocaleString("en-GB", options) + "%";
      return v.toLocaleString("en-GB", options);
    };
  }

  // The columns and rows of the chart's main marks: the view whose tooltip says the most.
  function tableModel(spec) {
    var all = views(spec, spec.data, null, [], []);
    var best = null;
    all.forEach(function (v) {
      var tips = [].concat(v.encoding.tooltip || []).filter(function (t) { return isObject(t) && t.field; });
      v.tips = tips;
      if (!best || tips.length > best.tips.length ||
          (tips.length === best.tips.length && rowsOf(v.data, spec).length > rowsOf(best.data, spec).length)) best = v;
    });
    if (!best) return null;
    var defs = best.facets.slice();
    if (best.tips.length) defs = defs.concat(best.tips);
    else ENCODED.forEach(function (k) { [].concat(best.encoding[k] || []).forEach(function (d) { if (isObject(d) && d.field) defs.push(d); }); });
    var rows = rowsOf(best.data, spec);
    var seen = {};
    var columns = [];
    defs.forEach(function (def) {
      var field = typeof def.field === "string" ? def.field : null;
      if (!field) return;
      var get = getter(field);
      if (!rows.some(function (r) { var v = get(r); return v !== undefined; })) return; // made by a transform
      var column = { field: field, title: titleOf(def), get: get, format: formatter(def.format), numeric: def.type === "quantitative" };
      if (seen[field] !== undefined) {
        if (def.title) columns[seen[field]].title = column.title; // a tooltip's title says it best
        return;
      }
      seen[field] = columns.length;
      columns.push(column);
    });
    return columns.length ? { columns: columns, rows: rows } : null;
  }

  function buildTable(holder, spec, label) {
    var model = tableModel(spec);
    holder.textContent = "";
    if (!model) {
      var p = document.createElement("p");
      p.textContent = "This chart has no rows to show as a table.";
      holder.appendChild(p);
      return 0;
    }
    var table = document.createElement("table");
    table.className = "ps-table ps-chart__rows";
    var caption = table.createCaption();
    caption.textContent = "The data in the chart: " + label;
    var head = table.createTHead().insertRow();
    model.columns.forEach(function (c) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = c.title;
      head.appendChild(th);
    });
    var body = table.createTBody();
    model.rows.forEach(function (row) {
      var tr = body.insertRow();
      model.columns.forEach(function (c) {
        var td = tr.insertCell();
        var v = c.get(row);
        // an area's name (or a spine row's indicator) links to the page its mark opens
        var href = /(^|\.)_label$|^title$/.test(c.field) ? getter(c.field.replace(/(_label|title)$/, "_href"))(row) : null;
        if (href && v !== null && v !== undefined) { // the area's page: the keyboard's way to what a click on its mark opens
          var a = document.createElement("a");
          a.href = href;
          a.textContent = String(v);
          td.appendChild(a);
          return;
        }
        if (typeof v === "number" || (typeof v === "string" && NUMERIC.test(v))) td.className = "ps-num";
        td.textContent = v === null || v === undefined ? "" : String(c.format(v));
      });
    });
    holder.appendChild(table);
    markScrolling(table);
    return model.rows.length;
  }

  // The figure's tools, before its (hidden) table: made here, so a page without scripts has none.
  function toolbar(figure) {
    var tools = figure.querySelector(".ps-chart__tools");
    if (tools) return tools;
    var holder = figure.querySelector(".ps-chart__table");
    tools = document.createElement("div");
    tools.className = "ps-chart__tools";
    figure.insertBefore(tools, holder || figure.querySelector("figcaption"));
    return tools;
  }

  function button(tools, cls, text) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "ps-chart__button " + cls;
    b.textContent = text;
    tools.appendChild(b);
    return b;
  }

  function setUpTable(figure, spec) {
    var holder = figure.querySelector(".ps-chart__table");
    if (!holder || !holder.id || figure.querySelector("button.ps-chart__toggle")) return;
    var toggle = button(toolbar(figure), "ps-chart__toggle", "Show the data as a table");
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", holder.id);
    var label = (figure.querySelector(".ps-chart__view") || figure).getAttribute("aria-label") || "";
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      // built once per spec: a chart redrawn for another period (ps-explore.js) gets its new rows
      if (open && figure.psTableOf !== (figure.psSpec || spec)) { buildTable(holder, figure.psSpec || spec, label); figure.psTableOf = figure.psSpec || spec; }
      holder.hidden = !open;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? "Hide the data table" : "Show the data as a table";
      if (open) markScrolling(holder.querySelector("table"));
    });
  }

  // -- downloads ---------------------------------------------------------------------------

  function fileName(key, ext) {
    var page = decodeURIComponent(location.pathname.split("/").pop() || "").replace(/\.html?$/, "");
    var parts = String(key).split("/");
    var where = page && page !== "index" ? page : parts[0];
    var what = parts[parts.length - 1];
    return ((where === what ? what : where + "-" + what).replace(/[^A-Za-z0-9._-]+/g, "-") || "chart") + "." + ext;
  }

  function setUpDownloads(figure, key) {
    if (figure.querySelector("button.ps-chart__save")) return;
    var tools = toolbar(figure);
    ["png", "svg"].forEach(function (format) {
      var b = button(tools, "ps-chart__save", "Download " + format.toUpperCase());
      b.setAttribute("data-format", format);
      b.addEventListener("click", function () { save(figure, key, format, b); });
    });
  }

  // The drawn chart as an image (Vega's own renderer, no network), on the page's background.
  function save(figure, key, format, from) {
    var view = figure.psView;
    if (!view) return Promise.resolve(null);
    var before = view.background();
    view.background(getComputedStyle(document.body).backgroundColor || "white");
    var made = format === "svg"
      ? view.toSVG().then(function (svg) { return "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg); })
      : view.toImageURL("png", 2);
    return made.then(function (url) {
      view.background(before);
      var a = figure.querySelector("a.ps-chart__download");
      if (!a) {
        a = document.createElement("a");
        a.className = "ps-chart__download";
        a.hidden = true;
        a.tabIndex = -1;
        from.parentNode.appendChild(a);
      }
      a.href = url;
      a.download = fileName(key, format);
      a.textContent = a.download;
      a.click();
      return url;
    }).catch(function (error) {
      view.background(before);
      console.warn("publicservices chart " + key + ": no " + format + " (" + error.message + ")");
    });
  }

  // -- drawing -----------------------------------------------------------------------------

  function available(figure) {
    // the figure's, not the view's: once drawn, the view is only as wide as its chart
    return Math.floor(figure.clientWidth || document.documentElement.clientWidth);
  }

  // The spec as made, `by` px narrower in all for a column `avail` px wide (a tablet, a narrow
  // window): its views narrower, small multiples in fewer columns, legends in two columns.
  function shrink(spec, by, avail) {
    var s = copy(spec);
    var narrower = function (view, less) {
      if (typeof view.width === "number") view.width = Math.max(100, Math.round(view.width - less));
    };
    narrowLegends(s, avail);
    if (s.hconcat) s.hconcat.forEach(function (v) { narrower(v, by / s.hconcat.length); });
    else if (s.vconcat || s.concat) (s.vconcat || s.concat).forEach(function (v) { narrower(v, by); });
    else if (s.facet && s.spec) {
      var panel = num(s.spec.width, 200);
      s.columns = Math.max(1, Math.min(num(s.columns, 1), Math.floor((avail - 40) / (panel + 60))));
      if (s.facet.header) s.facet.header.labelLimit = panel + 40;
    } else narrower(s, by);
    return s;
  }

  // (a patch of the compiled Vega spec: Vega-Lite has no setting for how legends sharing a side are laid out)
  function stackLegends(vg) {
    vg.config = vg.config || {};
    vg.config.legend = Object.assign({}, vg.config.legend);
    vg.config.legend.layout = { bottom: { anchor: "start", direction: "vertical", margin: 8 } };
    return vg;
  }

  // How wide a drawn chart is: its SVG's width, and how far its texts reach (Vega's estimate
  // of a label's width can fall short of the browser's by a few pixels, and the SVG cuts it off).
  function measure(svg) {
    if (!svg) return { svg: 0, reach: 0 };
    var left = svg.getBoundingClientRect().left;
    var width = parseFloat(svg.getAttribute("width")) || 0;
    var reach = width;
    Array.prototype.forEach.call(svg.querySelectorAll("text"), function (t) {
      var r = t.getBoundingClientRect();
      if (r.width) reach = Math.max(reach, r.right - left);
    });
    return { svg: width, reach: Math.ceil(reach) };
  }

  var PHONE = 480; // px of column: below, a chart that does not fit is drawn in its compact form

  function embed(figure, spec) {
    var view = figure.querySelector(".ps-chart__view");
    var avail = available(figure);
    var options = { renderer: "svg", actions: false };
    var form = avail < PHONE && natural(spec) > avail ? "compact" : "as made";
    var less = 0; // px narrower
    var pad = 0; // px more padding on the right, for labels past the SVG's edge
    var tries = 0;

    function drawn() {
      var s = form === "compact" ? compact(spec, avail - less) : form === "narrower" ? shrink(spec, less, avail) : spec;
      if (pad) {
        s = s === spec ? copy(spec) : s;
        s.padding = { left: 5, top: 5, bottom: 5, right: 5 + pad };
      }
      return s;
    }

    function show() {
      if (figure.psFinalize) { figure.psFinalize(); figure.psFinalize = null; }
      // a narrowed chart's legends below it go one under another, never side by side past its edge
      var opts = form === "as made" ? options : Object.assign({ patch: stackLegends }, options);
      return window.vegaEmbed(view, drawn(), opts).then(function (result) {
        figure.psView = result.view;
        figure.psFinalize = result.finalize;
        // ps-explore.js sets the highlighted area on every view drawn
        figure.dispatchEvent(new CustomEvent("ps-chart-drawn", { bubbles: true }));
        return measure(view.querySelector("svg"));
      });
    }

    // As made where it fits; else narrower (a tablet) or in the compact form (a phone, or where
    // narrower is not enough); each tried again by what still overflows.
    function attempt(size) {
      var over = size.reach - size.svg;
      var wide = Math.max(size.svg, size.reach);
      if ((wide <= avail + 1 && over <= 1) || tries >= 5) return null;
      tries += 1;
      if (over > 1) {
        pad += over;
      } else if (form === "as made") {
        form = avail < PHONE ? "compact" : "narrower";
        less = form === "narrower" ? wide - avail : 0;
      } else if (form === "narrower" && tries <= 2) {
        less += wide - avail;
      } else if (form === "narrower") {
        form = "compact";
        less = 0;
      } else {
        less += wide - avail;
      }
      return show().then(attempt);
    }

    return show().then(attempt).then(function () {
      figure.psWidth = avail;
      figure.psForm = form;
      var svg = view.querySelector("svg");
      if (svg) { svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false"); }
    });
  }

  function draw(figure) {
    var view = figure.querySelector(".ps-chart__view");
    var key = figure.getAttribute("data-spec");
    var scripts = (figure.getAttribute("data-load") || "").split(/\s+/).filter(Boolean);
    var inline = {};
    var rows = figure.querySelector("script.ps-chart__data");
    try { inline = JSON.parse(rows ? rows.textContent : "{}"); } catch (e) { inline = {}; }
    return scripts.reduce(function (chain, src) { return chain.then(function () { return load(src); }); }, Promise.resolve())
      .then(function () {
        var spec = (window.PS_SPECS || {})[key];
        if (!spec) throw new Error("no chart spec " + key);
        var data = Object.assign({}, window.PS_DATA || {}, inline);
        spec = fill(spec, data);
        if (spec.datasets) spec.datasets = Object.assign({}, spec.datasets, inline);
        spec.config = merge(theme(), spec.config || {});
        figure.psSpec = spec;
        setUpTable(figure, spec); // the data table works even if the chart cannot be drawn
        return embed(figure, spec);
      })
      .then(function () {
        setUpDownloads(figure, key);
        figure.classList.add("ps-chart--drawn");
      })
      .catch(function (error) {
        figure.classList.add("ps-chart--failed");
        view.textContent = "The chart could not be drawn (" + error.message + "); the summary and data below give the same information.";
        console.warn("publicservices chart " + key + ": " + error.message);
      });
  }

  // A redraw when the column's width changes enough to need another form (a phone turned round).
  function redraw() {
    Array.prototype.forEach.call(document.querySelectorAll("figure.ps-chart.ps-chart--drawn"), function (figure) {
      var avail = available(figure);
      if (!figure.psSpec || Math.abs(avail - (figure.psWidth || 0)) < 24) return;
      if (figure.psForm === "as made" && avail > figure.psWidth) return; // it fitted, and there is more room
      embed(figure, figure.psSpec).catch(function (error) { console.warn("publicservices chart: " + error.message); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("table.ps-table"), markScrolling);
  }

  // A table wider than its column scrolls inside itself; such a table takes the keyboard's focus,
  // so it can be scrolled without a mouse.
  function markScrolling(table) {
    if (!table) return;
    if (table.scrollWidth > table.clientWidth + 1) {
      if (!table.hasAttribute("tabindex")) { table.tabIndex = 0; table.setAttribute("data-ps-scroll", "1"); }
    } else if (table.getAttribute("data-ps-scroll")) {
      table.removeAttribute("tabindex");
      table.removeAttribute("data-ps-scroll");
    }
  }

  // Ids of the data tables, unique on the page even where a chart is shown twice.
  function uniqueIds() {
    var seen = {};
    Array.prototype.forEach.call(document.querySelectorAll("figure.ps-chart .ps-chart__table[id]"), function (holder) {
      if (seen[holder.id]) holder.id = holder.id + "-" + (seen[holder.id] += 1);
      else seen[holder.id] = 1;
    });
  }

  // Material's search overlay is a role="dialog" without a name; screen readers need one.
  function nameTheSearchDialog() {
    Array.prototype.forEach.call(document.querySelectorAll(".md-search[role='dialog']:not([aria-label])"), function (el) {
      el.setAttribute("aria-label", "Search this site");
    });
  }

  // For ps-explore.js: load a script once (its data scripts share the charts' cache); draw a figure
  // again from another spec (the same chart for another period), in the page's colours; its data
  // table is rebuilt from the new rows when next shown.
  window.PSCharts = {
    load: load,
    redraw: function (figure, spec) {
      spec.config = merge(theme(), spec.config || {});
      figure.psSpec = spec;
      var holder = figure.querySelector(".ps-chart__table");
      var toggle = figure.querySelector("button.ps-chart__toggle");
      if (holder && toggle && toggle.getAttribute("aria-expanded") === "true") { buildTable(holder, spec, (figure.querySelector(".ps-chart__view") || figure).getAttribute("aria-label") || ""); figure.psTableOf = spec; }
      if (!toggle) setUpTable(figure, spec);
      return embed(figure, spec).then(function () {
        setUpDownloads(figure, figure.getAttribute("data-spec") || "chart");
        figure.classList.remove("ps-chart--failed");
        figure.classList.add("ps-chart--drawn");
      });
    }
  };

  function start() {
    nameTheSearchDialog();
    uniqueIds();
    Array.prototype.forEach.call(document.querySelectorAll("table.ps-table"), markScrolling);
    var figures = Array.prototype.slice.call(document.querySelectorAll("figure.ps-chart"));
    Promise.all(figures.map(draw)).then(function () {
      document.documentElement.setAttribute("data-ps-charts", "done");
    });
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(redraw, 200);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
