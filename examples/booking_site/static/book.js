// The live schedule preview: on every change, post the form to /book/<tier>/preview and
// show the exact schedule (or each field's error next to it). Without JavaScript the
// "Continue" button does the same check on the server.
(function () {
  const form = document.getElementById("booking-form");
  if (!form) return;
  let pending = null;
  async function refresh() {
    const response = await fetch(form.dataset.preview, { method: "POST", body: new FormData(form) });
    if (!response.ok) return;
    const data = await response.json();
    document.getElementById("schedule").innerHTML = data.html;
    for (const span of form.querySelectorAll(".error")) {
      const name = span.id.replace(/^error-/, "");
      const typed = form.elements[name];
      // Name and e-mail are complained about only once the client has typed there.
      const quiet = (name === "name" || name === "email") && typed && typed.value === "";
      span.textContent = quiet ? "" : (data.errors[name] || "");
    }
    form.dataset.previewed = String(Number(form.dataset.previewed || "0") + 1);
  }
  function schedule() {
    clearTimeout(pending);
    pending = setTimeout(refresh, 150);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
