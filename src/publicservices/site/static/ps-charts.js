/* publicservices chart loader.
 *
 * Each <figure class="ps-chart"> names the scripts it needs (data-load: chart specs and
 * shared data, relative to the page) and its spec (data-spec). Scripts are added as plain
 * <script src> elements, which browsers load from file:// as well as over http. Specs refer
 * to shared data sets by name; the figure's own rows come inline (a JSON script block). The figure
 * is marked ps-chart--drawn or ps-chart--failed, and <html data-ps-charts="done"> is set
 * when every figure on the page has finished.
 */
(function () {
  "use strict";
  var loading = {};

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

  function dark() {
    var scheme = document.body && document.body.getAttribute("data-md-color-scheme");
    return scheme === "slate";
  }

  function theme() {
    var fg = dark() ? "#e2e4e9" : "#1f2328";
    return {
      background: null,
      title: { color: fg, subtitleColor: fg },
      axis: { labelColor: fg, titleColor: fg, domainColor: fg, tickColor: fg, gridColor: dark() ? "#3b3f4a" : "#e5e5e5" },
      legend: { labelColor: fg, titleColor: fg },
      header: { labelColor: fg, titleColor: fg },
      view: { stroke: null }
    };
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
        spec.config = Object.assign({}, theme(), spec.config || {});
        return window.vegaEmbed(view, spec, { renderer: "svg", actions: false });
      })
      .then(function () {
        var svg = view.querySelector("svg");
        if (svg) { svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false"); }
        figure.classList.add("ps-chart--drawn");
      })
      .catch(function (error) {
        figure.classList.add("ps-chart--failed");
        view.textContent = "The chart could not be drawn (" + error.message + "); the summary and data below give the same information.";
        console.warn("publicservices chart " + key + ": " + error.message);
      });
  }

  // Material's search overlay is a role="dialog" without a name; screen readers need one.
  function nameTheSearchDialog() {
    Array.prototype.forEach.call(document.querySelectorAll(".md-search[role='dialog']:not([aria-label])"), function (el) {
      el.setAttribute("aria-label", "Search this site");
    });
  }

  function start() {
    nameTheSearchDialog();
    var figures = Array.prototype.slice.call(document.querySelectorAll("figure.ps-chart"));
    Promise.all(figures.map(draw)).then(function () {
      document.documentElement.setAttribute("data-ps-charts", "done");
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
