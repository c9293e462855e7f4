/* The scoring form's running totals (progressive: the server renders the same numbers; this only
   keeps them current while the reviewer types). No inline script: the CSP has no unsafe-inline. */
(function () {
  "use strict";
  function value(input) {
    var text = input.value.trim();
    if (!/^\d+(\.\d+)?$/.test(text)) { return null; }
    var n = Number(text), max = Number(input.getAttribute("data-max"));
    return n <= max ? n : null;
  }
  function show(n) {
    return String(Math.round(n * 10000) / 10000);
  }
  function update() {
    var inputs = document.querySelectorAll("input.points[data-section]");
    var sums = {}, counts = {}, total = 0, scored = 0;
    inputs.forEach(function (input) {
      var sid = input.getAttribute("data-section"), v = value(input);
      sums[sid] = (sums[sid] || 0) + (v || 0);
      counts[sid] = (counts[sid] || 0) + (v === null ? 0 : 1);
      if (v !== null) { total += v; scored += 1; }
    });
    Object.keys(sums).forEach(function (sid) {
      document.querySelectorAll('[data-total="' + sid + '"]').forEach(function (el) {
        el.textContent = show(sums[sid]);
      });
      document.querySelectorAll('[data-scored="' + sid + '"]').forEach(function (el) {
        el.textContent = String(counts[sid]);
      });
    });
    document.querySelectorAll('[data-total="all"]').forEach(function (el) {
      el.textContent = show(total);
    });
    document.querySelectorAll("span[data-scored='']").forEach(function (el) {
      el.textContent = String(scored);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.score-form");
    if (!form) { return; }
    form.addEventListener("input", function (event) {
      if (event.target.matches("input.points")) { update(); }
    });
  });
})();
