// The live schedule preview: on every change, post the form to /book/<tier>/preview and
// show the exact schedule (or each field's error next to it). Without JavaScript the
// "Continue" button does the same check on the server.
//
// Each error sits in its own <span id="error-NAME">, linked to its field by
// aria-describedby; none is a live region. One polite live region (#form-status) says
// what changed, and only when it changed, so a screen reader hears each message once.
(function () {
  const form = document.getElementById("booking-form");
  if (!form) return;
  const status = document.getElementById("form-status");
  let pending = null;
  let sent = 0;
  async function refresh() {
    pending = null;
    const mine = ++sent;
    const response = await fetch(form.dataset.preview, { method: "POST", body: new FormData(form) });
    // A newer preview is on its way: this answer is stale (answers may arrive out of order).
    if (mine !== sent) return;
    if (!response.ok) { form.dataset.busy = "0"; return; }
    const data = await response.json();
    if (mine !== sent) return;
    document.getElementById("schedule").innerHTML = data.html;
    const fresh = [];
    for (const span of form.querySelectorAll(".error")) {
      const name = span.id.replace(/^error-/, "");
      const typed = form.elements[name];
      // Name and e-mail are complained about only once the client has typed there.
      const quiet = (name === "name" || name === "email") && typed && typed.value === "";
      const text = quiet ? "" : (data.errors[name] || "");
      if (span.textContent !== text) {
        span.textContent = text;
        if (text) fresh.push(text);
      }
      for (const input of form.querySelectorAll(`[aria-describedby="${span.id}"]`)) {
        if (text) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
    if (fresh.length && status) status.textContent = fresh.join(" ");
    form.dataset.previewed = String(Number(form.dataset.previewed || "0") + 1);
    if (pending === null) form.dataset.busy = "0";
  }
  function schedule() {
    clearTimeout(pending);
    form.dataset.busy = "1";
    pending = setTimeout(refresh, 150);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
