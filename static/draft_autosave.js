/* Autosave of a draft application, every data-autosave-interval milliseconds (default one
   minute) while something changed. Progressive: the form works the same without it. It posts
   the whole form (CSRF token and version included) to data-autosave-url, the same save as
   "Save draft"; a 409 (someone else saved first) stops it and says how to see both versions. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave-url]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var interval = parseInt(form.getAttribute("data-autosave-interval"), 10) || 60000;
  var status = document.getElementById("autosave-status");
  var dirty = false, busy = false, stopped = false;

  function say(text) { if (status) { status.textContent = text; } }
  function changed() { dirty = true; }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () { stopped = true; });

  function done(result) {
    var body = result.body || {};
    if (result.status === 200) {
      var version = form.querySelector("input[name=version]");
      if (version) { version.value = body.version; }
      var kept = Object.keys(body.invalid || {}).length;
      say("Draft saved automatically at " + body.saved_at +
          (kept ? "; " + kept + " entr" + (kept === 1 ? "y is" : "ies are") +
           " not valid yet (kept as typed)." : "."));
    } else if (result.status === 409) {
      stopped = true;
      say((body.error || "Someone else saved this draft.") +
          " Press \u201cSave draft\u201d to see both versions side by side.");
    } else {
      dirty = true;
      say("Not saved automatically: " + (body.error || "error " + result.status) +
          ". Press \u201cSave draft\u201d.");
    }
  }

  function save() {
    if (!dirty || busy || stopped) { return; }
    busy = true;
    dirty = false;
    fetch(form.getAttribute("data-autosave-url"), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(
        function (body) { return { status: response.status, body: body }; },
        function () { return { status: response.status, body: {} }; });
    }).then(done, function () {
      dirty = true;
      say("Not saved automatically (no connection). Keep this page open and press \u201cSave draft\u201d.");
    }).then(function () { busy = false; });
  }

  window.setInterval(save, interval);
}());
