/* publicservices grid: sort the areas × indicators table by a column, client-side.
 *
 * Each <table class="ps-grid__table"> has column headers with data-sort="name" (the area
 * names) or data-sort="value" (an indicator; data-best="desc" or "asc" is the order that puts
 * the best areas first, data-best-word says so in words). This script puts each header's
 * content in a <button>, so the headers are reachable and operable from the keyboard; the
 * header's aria-sort and the status line above the table (a polite live region) say how the
 * rows are sorted. Only the areas' rows move: the benchmark row (its own tbody) stays first,
 * and areas with no value stay last whichever way a column is sorted. Without JavaScript the
 * table reads as written: sorted by area name.
 */
(function () {
  "use strict";

  function text(el) { return (el.textContent || "").replace(/\s+/g, " ").trim(); }

  function label(th) {
    var hidden = th.querySelector(".ps-vh");
    var abbr = th.querySelector("abbr");
    if (hidden && abbr) return text(hidden);
    var clone = th.cloneNode(true);
    Array.prototype.forEach.call(clone.querySelectorAll(".ps-grid__note, .ps-grid__arrow"), function (n) { n.remove(); });
    return text(clone);
  }

  function enhance(table) {
    var body = table.querySelector("tbody.ps-grid__areas");
    var status = table.closest(".ps-grid") && table.closest(".ps-grid").querySelector(".ps-grid__status");
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th[data-sort]"));
    if (!body || !headers.length) return;
    var collator = new Intl.Collator(undefined, { sensitivity: "base" });

    function say(message) { if (status) status.textContent = message; }

    function sort(th, order) {
      var column = th.cellIndex;
      var byName = th.getAttribute("data-sort") === "name";
      var sign = order === "desc" ? -1 : 1;
      var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
        var cell = row.cells[column];
        var raw = cell ? cell.getAttribute("data-v") : null;
        return { row: row, index: index, name: text(row.cells[0]), value: raw === null ? null : parseFloat(raw) };
      });
      rows.sort(function (a, b) {
        if (!byName) {
          var am = a.value === null || isNaN(a.value), bm = b.value === null || isNaN(b.value);
          if (am !== bm) return am ? 1 : -1; // no value: last, either way
          if (!am && a.value !== b.value) return sign * (a.value - b.value);
        }
        var names = sign * collator.compare(a.name, b.name);
        return names || a.index - b.index;
      });
      var fragment = document.createDocumentFragment();
      rows.forEach(function (r) { fragment.appendChild(r.row); });
      body.appendChild(fragment);
      headers.forEach(function (h) {
        if (h === th) h.setAttribute("aria-sort", order === "desc" ? "descending" : "ascending");
        else h.removeAttribute("aria-sort");
        h.setAttribute("data-order", h === th ? order : "");
      });
      var words;
      if (byName) words = order === "asc" ? "A to Z" : "Z to A";
      else {
        var best = th.getAttribute("data-best") || "desc";
        var judged = th.getAttribute("data-best-word") === "best first";
        var values = order === "desc" ? "highest value first" : "lowest value first";
        words = judged ? (order === best ? "best first" : "worst first") + " (" + values + ")" : values;
      }
      say("Sorted by " + (byName ? "area name" : label(th)) + ", " + words + ".");
    }

    headers.forEach(function (th) {
      if (th.querySelector("button")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ps-grid__sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      var arrow = document.createElement("span");
      arrow.className = "ps-grid__arrow";
      arrow.setAttribute("aria-hidden", "true");
      button.appendChild(arrow);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var byName = th.getAttribute("data-sort") === "name";
        var first = byName ? "asc" : th.getAttribute("data-best") || "desc";
        var current = th.getAttribute("data-order");
        var order = current ? (current === "asc" ? "desc" : "asc") : first;
        sort(th, order);
      });
    });
    var area = headers.filter(function (h) { return h.getAttribute("data-sort") === "name"; })[0];
    if (area) area.setAttribute("data-order", "asc");
    say("Sorted by area name, A to Z. Choose a column heading to sort by it: an indicator sorts best first, then worst first.");
    table.setAttribute("data-ps-grid", "ready");
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table.ps-grid__table"), enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
