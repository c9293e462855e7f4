/* Progressive enhancement for the application form: live budget totals and character counts.
   The page works without it; the server computes and checks every total on save. */
(function () {
  "use strict";
  var fmt = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  function cents(text) {
    var c = (text || "").replace(/[$,\s]/g, "");
    if (c === "") return 0;
    if (!/^[0-9]{1,12}(\.[0-9]{1,2})?$/.test(c)) return NaN;
    var parts = c.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function show(el, value) { if (el) el.textContent = isNaN(value) ? "—" : fmt.format(value / 100); }

  var table = document.querySelector("[data-budget]");
  if (table) {
    var request = document.querySelector("[data-request]");
    var check = document.querySelector("[data-budget-check]");
    var label = document.querySelector("[data-totals-label]");
    var update = function () {
      var rows = {}, years = {}, total = 0;
      table.querySelectorAll("input.amount").forEach(function (input) {
        var v = cents(input.value), code = input.dataset.code, year = input.dataset.year;
        rows[code] = (rows[code] || 0) + v; years[year] = (years[year] || 0) + v; total += v;
      });
      Object.keys(rows).forEach(function (code) { show(table.querySelector('[data-row-total="' + code + '"]'), rows[code]); });
      Object.keys(years).forEach(function (y) { show(table.querySelector('[data-year-total="' + y + '"]'), years[y]); });
      show(table.querySelector("[data-grand-total]"), total);
      if (label) label.textContent = "Totals";
      if (check && request) {
        var r = cents(request.value);
        if (request.value.trim() === "") { check.textContent = "Enter the amount requested; the budget total must equal it."; check.className = "small budget-off"; }
        else if (isNaN(total) || isNaN(r)) { check.textContent = "Some amounts are not valid numbers yet."; check.className = "small budget-off"; }
        else if (r === total) { check.textContent = "The budget total equals the request."; check.className = "small budget-ok"; }
        else { check.textContent = "The budget total differs from the request by " + fmt.format(Math.abs(total - r) / 100) + "; they must be equal to submit."; check.className = "small budget-off"; }
      }
    };
    table.addEventListener("input", update);
    if (request) request.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[data-limit]").forEach(function (area) {
    var out = document.getElementById(area.id + "-count"), limit = parseInt(area.dataset.limit, 10);
    var count = function () {
      var n = area.value.replace(/\r\n/g, "\n").length;
      out.textContent = n.toLocaleString("en-US") + " / " + limit.toLocaleString("en-US") + " characters";
      out.classList.toggle("over", n > limit);
    };
    area.addEventListener("input", count);
    count();
  });
})();
