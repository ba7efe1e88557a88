(function () {
  "use strict";
  // The case table: decode the embedded rows once, filter over all of them, render one page at a time.
  // Only textContent and hidden are ever set: no markup is built from data.
  var PAGE = 100;
  var STATUSES = ["passed", "failed", "error"];
  function byId(id) { return document.getElementById(id); }
  var table = byId("cases");
  var block = byId("llmeval-cases");
  if (!table || !block) { return; }
  var body = table.tBodies[0];
  var controls = { status: byId("f-status"), suite: byId("f-suite"), model: byId("f-model"), search: byId("search") };
  var shown = byId("shown"), info = byId("page-info"), prev = byId("page-prev"), next = byId("page-next");
  var data = null, haystack = null, matching = [], page = 0, open = {};
  var samples = table.dataset.samples === "true";

  function decode(text) {
    var bin = atob(text.trim()), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i += 1) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  function str(i) { return data.strings[i]; }
  function num(v, digits) { return v === null || v === undefined ? "–" : String(Number(v.toPrecision(digits))); }
  function seconds(v) {
    if (v === null || v === undefined) { return "–"; }
    if (v >= 1) { return num(v, 3) + " s"; }
    return v >= 0.001 ? num(v * 1e3, 3) + " ms" : num(v * 1e6, 3) + " µs";
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function searchText(c) {
    return [str(c[1]), c[2], str(c[3]), c[6], c[7]].concat(c[8], [c[9] || ""], c[12].map(str)).join("\n").toLowerCase();
  }

  function matches(c, i, query) {
    if (controls.status.value && STATUSES[c[0]] !== controls.status.value) { return false; }
    if (controls.suite.value && str(c[1]) !== controls.suite.value) { return false; }
    if (controls.model.value && str(c[3]) !== controls.model.value) { return false; }
    if (!query) { return true; }
    if (!haystack) { haystack = data.cases.map(searchText); }
    return haystack[i].indexOf(query) !== -1;
  }

  function filter() {
    var query = controls.search.value.trim().toLowerCase();
    matching = [];
    data.cases.forEach(function (c, i) { if (matches(c, i, query)) { matching.push(i); } });
    shown.textContent = String(matching.length);
    page = 0;
    render();
  }

  function caseRow(i) {
    var c = data.cases[i], tr = el("tr", null, "case");
    tr.dataset.index = String(i);
    tr.dataset.status = STATUSES[c[0]];
    var badge = el("td");
    badge.appendChild(el("span", STATUSES[c[0]], "badge " + STATUSES[c[0]]));
    tr.appendChild(badge);
    tr.appendChild(el("td", str(c[1])));
    tr.appendChild(el("td", c[2], "case-id"));
    tr.appendChild(el("td", str(c[3])));
    if (samples) { tr.appendChild(el("td", c[4] === null ? "" : c[4], "num")); }
    var chips = el("td");
    c[10].forEach(function (s) { chips.appendChild(el("span", str(s[0]) + "=" + num(s[1], 3), "score-chip " + (s[2] ? "s-ok" : "s-bad"))); });
    tr.appendChild(chips);
    tr.appendChild(el("td", seconds(c[5]), "num latency"));
    var cell = el("td"), button = el("button", open[i] ? "hide" : "details", "toggle");
    button.type = "button";
    button.setAttribute("aria-controls", "detail-" + i);
    button.setAttribute("aria-expanded", String(Boolean(open[i])));
    cell.appendChild(button);
    tr.appendChild(cell);
    return tr;
  }

  function section(td, title, text, cls) {
    td.appendChild(el("h3", title));
    td.appendChild(el("pre", text, cls));
  }

  function scoreTable(scores) {
    var t = el("table", null, "scores"), head = el("tr"), rows = el("tbody");
    ["Scorer", "Value", "Threshold", "Result", "Explanation"].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(el("thead")).appendChild(head);
    scores.forEach(function (s) {
      var tr = el("tr"), result = el("td"), why = el("td", str(s[4]), "explanation");
      tr.appendChild(el("td", str(s[0])));
      tr.appendChild(el("td", num(s[1], 4), "num"));
      tr.appendChild(el("td", str(s[3])));
      result.appendChild(el("span", s[2] ? "pass" : "fail", "badge " + (s[2] ? "passed" : "failed")));
      tr.appendChild(result);
      if (str(s[5])) { why.appendChild(el("div", str(s[5]), "muted small")); }
      tr.appendChild(why);
      rows.appendChild(tr);
    });
    t.appendChild(rows);
    return t;
  }

  function detailRow(i) {
    var c = data.cases[i], tr = el("tr", null, "detail"), td = el("td");
    tr.id = "detail-" + i;
    td.colSpan = table.tHead.rows[0].cells.length;
    section(td, "Prompt", c[6], "prompt");
    section(td, "Output", c[7], "output");
    c[8].forEach(function (r, k) { section(td, c[8].length > 1 ? "Reference " + (k + 1) : "Reference", r, "reference"); });
    if (c[9]) { section(td, "Error", c[9], "error-text"); }
    if (c[10].length) { td.appendChild(scoreTable(c[10])); }
    if (c[11]) { section(td, "Vars", c[11], "vars"); }
    if (c[13]) { td.appendChild(sideBySide(c[13])); }
    tr.appendChild(td);
    return tr;
  }

  function sideBySide(m) {
    var box = el("div", null, "minimal-break"), t = el("table", null, "side-by-side"), head = el("tr");
    box.appendChild(el("h3", "Minimal breaking perturbation: " + m[0]));
    ["", "Original", "Perturbed"].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    [["Prompt", m[1], m[2]], ["Output", m[3], m[4]]].forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("th", r[0]));
      tr.appendChild(el("td")).appendChild(el("pre", r[1]));
      tr.appendChild(el("td")).appendChild(el("pre", r[2]));
      body.appendChild(tr);
    });
    t.appendChild(body);
    box.appendChild(t);
    return box;
  }

  function render() {
    var pages = Math.max(1, Math.ceil(matching.length / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    var rows = document.createDocumentFragment();
    matching.slice(page * PAGE, (page + 1) * PAGE).forEach(function (i) {
      rows.appendChild(caseRow(i));
      if (open[i]) { rows.appendChild(detailRow(i)); }
    });
    body.replaceChildren(rows);
    info.textContent = "page " + (page + 1) + " of " + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function toggle(event) {
    var button = event.target.closest("button.toggle");
    if (!button) { return; }
    var tr = button.closest("tr"), i = Number(tr.dataset.index);
    open[i] = !open[i];
    if (open[i]) { tr.after(detailRow(i)); } else { byId("detail-" + i).remove(); }
    button.textContent = open[i] ? "hide" : "details";
    button.setAttribute("aria-expanded", String(open[i]));
  }

  // A link to a part of the page opens the collapsed sections around it; "show them" also filters the cases.
  function reveal(target) {
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var target = link && byId(link.getAttribute("href").slice(1));
    if (!target) { return; }
    reveal(target);
    if (link.dataset.status && data) {
      controls.status.value = link.dataset.status;
      filter();
    }
  });
  if (location.hash && byId(location.hash.slice(1))) { reveal(byId(location.hash.slice(1))); }

  decode(block.textContent).then(function (decoded) {
    data = decoded;
    ["status", "suite", "model"].forEach(function (key) { controls[key].addEventListener("change", filter); });
    controls.search.addEventListener("input", filter);
    prev.addEventListener("click", function () { page -= 1; render(); });
    next.addEventListener("click", function () { page += 1; render(); });
    table.addEventListener("click", toggle);
    filter();
    table.dataset.ready = "true";
  });
})();
