/* The alerts page: acknowledge or close the alert shown, with an optional note (JSON POST with the
   session's CSRF token); a refusal is shown as its machine code and one line, a success reloads it. */
"use strict";
(function () {
  const detail = document.getElementById("alert-detail");
  const error = document.getElementById("alert-error");
  if (!detail) return;

  function refused(code, message) {
    const line = document.createElement("code");
    line.textContent = code;
    error.replaceChildren(line, " " + ((HIE.config.errors || {})[code] || message || ""));
    error.hidden = false;
  }

  async function move(name) {
    const note = document.getElementById("alert-note");
    const response = await fetch(`/console/api/alerts/${detail.dataset.id}/${name}`, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": HIE.csrfToken()},
      body: JSON.stringify({note: note && note.value.trim() ? note.value.trim() : null}),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      refused(body.code || String(response.status), body.message);
      return;
    }
    window.location.reload();
  }

  for (const button of detail.querySelectorAll("button[data-move]")) {
    button.addEventListener("click", () => move(button.dataset.move));
  }
})();
