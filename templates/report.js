/* Contacts table: search, sort and pages. Without this script every row is shown.
   Rows stay plain HTML; the script keeps only arrays of row indexes and, once a
   search starts, one lower-cased text per row. */
(function () {
  "use strict";
  var table = document.getElementById("ct");
  if (!table) { return; }
  /* A fixed array of the rows: showing a page moves its rows, which reorders body.rows. */
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows), n = rows.length;
  var PER = 100, page = 0, order = [], view = [], shown = [], texts = null, keys = {};
  var q = document.getElementById("q"), info = document.getElementById("pinfo");
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  for (var i = 0; i < n; i++) { order.push(i); }
  view = order;
  function fmt(x) { return x.toLocaleString("en-US"); }
  function draw() {
    for (var i = 0; i < shown.length; i++) { shown[i].classList.remove("on"); }
    shown = [];
    var pages = Math.max(1, Math.ceil(view.length / PER));
    page = Math.min(page, pages - 1);
    var start = page * PER, end = Math.min(view.length, start + PER);
    for (var j = start; j < end; j++) { shown.push(rows[view[j]]); }
    for (var k = 0; k < shown.length; k++) { shown[k].classList.add("on"); body.appendChild(shown[k]); }
    info.textContent = view.length ? (fmt(start + 1) + "–" + fmt(end) + " of " + fmt(view.length) +
      (view.length < n ? " (of " + fmt(n) + ")" : "")) : "no contact matches";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  /* The search index (one lower-cased string per row) is built in slices of 5,000
     rows between other work, so the page never freezes; a search waits for it. */
  var building = false, waiting = null;
  function index(done) {
    if (texts && texts.length === n) { done(); return; }
    waiting = done;
    if (building) { return; }
    building = true;
    texts = texts || [];
    (function slice() {
      var end = Math.min(n, texts.length + 5000);
      for (var t = texts.length; t < end; t++) { texts.push(rows[t].textContent.toLowerCase()); }
      if (end < n) {
        info.textContent = "indexing " + fmt(end) + " of " + fmt(n) + "…";
        setTimeout(slice, 0);
        return;
      }
      building = false;
      var then = waiting;
      waiting = null;
      then();
    })();
  }
  function filter() {
    var term = q.value.trim().toLowerCase();
    if (!term) { view = order; page = 0; draw(); return; }
    index(function () {
      view = [];
      for (var i = 0; i < order.length; i++) { if (texts[order[i]].indexOf(term) !== -1) { view.push(order[i]); } }
      page = 0;
      draw();
    });
  }
  function sortKeys(col, numeric) {
    if (keys[col]) { return keys[col]; }
    var out = new Array(n);
    for (var i = 0; i < n; i++) {
      var cell = rows[i].cells[col];
      var v = cell.getAttribute("data-v");
      out[i] = numeric ? Number(v === null ? cell.textContent : v) || 0 : cell.textContent.trim().toLowerCase();
    }
    keys[col] = out;
    return out;
  }
  var heads = table.tHead.rows[0].cells;
  function sortBy(col) {
    var th = heads[col], numeric = th.getAttribute("data-k") === "n";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var k = sortKeys(col, numeric);
    order = order.slice().sort(function (a, b) { return k[a] < k[b] ? -dir : k[a] > k[b] ? dir : a - b; });
    filter();
  }
  for (var h = 0; h < heads.length; h++) {
    if (heads[h].hasAttribute("data-k")) {
      heads[h].tabIndex = 0;
      heads[h].addEventListener("click", sortBy.bind(null, h));
      heads[h].addEventListener("keydown", function (col, e) { if (e.key === "Enter") { sortBy(col); } }.bind(null, h));
    }
  }
  var timer = 0;
  q.addEventListener("focus", function () { index(draw); });
  q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(filter, 150); });
  /* CSV of the rows the search selects, in the order shown, made here from the page's
     own rows (no server). A cell a spreadsheet would run as a formula (starting with
     = + - @, a tab or a carriage return) gets a leading ', except a plain E.164 number. */
  function csvCell(value) {
    var v = String(value === null || value === undefined ? "" : value);
    if (/^[=+\-@\t\r]/.test(v) && !/^\+[1-9][0-9]{6,14}$/.test(v)) { v = "'" + v; }
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  /* The markup's line break after each row ends up in its last cell's text. */
  function text(cell) { return cell.textContent.replace(/\n$/, ""); }
  function csvText() {
    var lines = [["phone", "name", "outcome", "reason", "attempts", "talk_seconds", "recording",
      "details", "calls"].join(",")];
    for (var i = 0; i < view.length; i++) {
      var c = rows[view[i]].cells, link = c[5].querySelector("a");
      lines.push([text(c[0]), text(c[1]), text(c[2]), c[2].getAttribute("title") || "",
        text(c[3]), c[4].getAttribute("data-v") || "0", link ? link.getAttribute("href") : "",
        text(c[6]), text(c[7])].map(csvCell).join(","));
    }
    return lines.join("\r\n") + "\r\n";
  }
  window.campaignerCsv = { cell: csvCell, text: csvText };
  document.getElementById("csv").addEventListener("click", function () {
    var blob = new Blob(["\ufeff" + csvText()], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.setAttribute("href", URL.createObjectURL(blob));
    a.download = (table.getAttribute("data-name") || "contacts").replace(/[^A-Za-z0-9._-]+/g, "-") + "-contacts.csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  });
  prev.addEventListener("click", function () { page -= 1; draw(); });
  next.addEventListener("click", function () { page += 1; draw(); });
  document.getElementById("controls").hidden = false;
  draw();
})();
