(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  var table = byId("cases");
  if (!table) { return; }
  var dataNode = byId("llmeval-data");
  var data = dataNode ? JSON.parse(dataNode.textContent) : { search: [] };
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr.case"));
  var controls = { status: byId("f-status"), suite: byId("f-suite"), model: byId("f-model"), search: byId("search") };
  var shown = byId("shown");

  function matches(tr, query) {
    var text = data.search[Number(tr.dataset.index)] || "";
    return (!controls.status.value || tr.dataset.status === controls.status.value) &&
      (!controls.suite.value || tr.dataset.suite === controls.suite.value) &&
      (!controls.model.value || tr.dataset.model === controls.model.value) &&
      (!query || text.indexOf(query) !== -1);
  }

  function apply() {
    var query = controls.search.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (tr) {
      var ok = matches(tr, query);
      tr.hidden = !ok;
      if (!ok) {
        var detail = byId("detail-" + tr.dataset.index);
        if (detail) { detail.hidden = true; }
      }
      if (ok) { count += 1; }
    });
    shown.textContent = String(count);
  }

  ["status", "suite", "model"].forEach(function (key) { controls[key].addEventListener("change", apply); });
  controls.search.addEventListener("input", apply);
  table.addEventListener("click", function (event) {
    var button = event.target.closest("button.toggle");
    if (!button) { return; }
    var detail = byId(button.getAttribute("aria-controls"));
    detail.hidden = !detail.hidden;
    button.setAttribute("aria-expanded", String(!detail.hidden));
    button.textContent = detail.hidden ? "details" : "hide";
  });
  apply();
})();
