// tenku dashboard: small progressive enhancements; every page works without it.
(function () {
  "use strict";
  // Confirm destructive forms.
  document.addEventListener("submit", function (e) {
    var by = e.submitter, msg = (by && by.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });
  // The launch wizard shows the chosen boot source's fields only; a
  // disabled fieldset is neither validated nor sent.
  document.querySelectorAll("input[name=source_type]").forEach(function (radio) {
    function pick() {
      radio.form.querySelectorAll("fieldset[data-source]").forEach(function (fs) {
        var on = fs.getAttribute("data-source") === radio.form.querySelector("input[name=source_type]:checked").value;
        fs.disabled = !on; fs.hidden = !on;
      });
    }
    radio.addEventListener("change", pick);
    if (radio.checked) { pick(); }
  });
  // Refresh table rows while something is changing (no full reload).
  function poll(body) {
    var url = body.getAttribute("data-poll");
    setTimeout(function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok || r.redirected) { return null; }
        return r.text();
      }).then(function (html) {
        if (html === null) { return; }
        body.innerHTML = html;
        if (body.querySelector("[data-transitional]")) { poll(body); }
      }).catch(function () { poll(body); });
    }, 2000);
  }
  document.querySelectorAll("[data-poll]").forEach(poll);
  // Pages whose subject is changing reload their section.
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    setTimeout(function () { window.location.reload(); }, 1000 * Number(el.getAttribute("data-refresh")));
  });
})();
