// Progressive enhancement for passkeys. The forms that add or use a passkey stay hidden unless
// this browser can use passkeys (WebAuthn); the page's note for other browsers then goes. On
// submit: POST the form to <options> for the prompt's options, let the browser prompt, POST the
// form again with the answer as JSON text in `response`, then follow the `redirect` the server
// gives or show its `error`. Posts are form-encoded, carrying the form's _csrf field like any form.
// Words come from the page (data-passkey-* attributes), as the server words everything else.
(() => {
  const webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn?.browserSupportsWebAuthn()) return;

  const isSamePath = (value) => typeof value === "string" && value.startsWith("/") && !value.startsWith("//");

  async function post(url, form, extra) {
    const body = new URLSearchParams(new FormData(form));
    for (const [name, value] of Object.entries(extra)) body.set(name, value);
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const isJson = (response.headers.get("content-type") ?? "").includes("application/json");
    return isJson ? response.json() : {};
  }

  function enhance(button, mode) {
    const form = button.form;
    if (!form) return;
    const alert = form.querySelector("[data-passkey-alert]");
    const words = form.dataset;

    function showError(message, fieldName) {
      alert.textContent = message;
      alert.hidden = false;
      const field = fieldName ? form.elements.namedItem(fieldName) : null;
      if (field instanceof HTMLElement) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
      }
    }

    function clearError() {
      alert.hidden = true;
      alert.textContent = "";
      for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
    }

    /** Goes where the server says, if it says; returns whether it did. */
    function follow(answer) {
      if (!isSamePath(answer.redirect)) return false;
      window.location.assign(answer.redirect);
      return true;
    }

    function wordsForBrowserError(error) {
      if (error?.code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED") return words.passkeyAlreadyOnDevice;
      if (error?.name === "NotAllowedError" || error?.name === "AbortError") return words.passkeyCancelled;
      return words.passkeyFailed;
    }

    async function run() {
      clearError();
      const started = await post(form.dataset.passkeyOptions, form, {});
      if (follow(started)) return;
      if (!started.options) return showError(started.error ?? words.passkeyFailed, started.field);
      let answer;
      try {
        answer =
          mode === "register"
            ? await webauthn.startRegistration({ optionsJSON: started.options })
            : await webauthn.startAuthentication({ optionsJSON: started.options });
      } catch (error) {
        return showError(wordsForBrowserError(error));
      }
      const finished = await post(form.action, form, { response: JSON.stringify(answer) });
      if (follow(finished)) return;
      showError(finished.error ?? words.passkeyFailed, finished.field);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      try {
        await run();
      } catch {
        showError(words.passkeyFailed);
      } finally {
        button.disabled = false;
      }
    });

    for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = true;
    form.hidden = false;
    button.hidden = false;
  }

  for (const button of document.querySelectorAll("[data-passkey-register]")) enhance(button, "register");
  for (const button of document.querySelectorAll("[data-passkey-login]")) enhance(button, "login");

  // The confirmation before a security change: when the chosen method is a ceremony (its option
  // names where to ask for the prompt's options), the code field gives way to the browser's
  // prompt, whose answer is sent as the code with the password.
  const method = document.getElementById("method");
  const code = document.getElementById("code");
  if (method instanceof HTMLSelectElement && code instanceof HTMLInputElement && code.form) {
    const form = code.form;
    const field = code.closest(".field");
    const chosen = () => method.selectedOptions[0]?.dataset ?? {};
    const alert = document.createElement("p");
    alert.className = "error-message";
    alert.setAttribute("role", "alert");
    alert.hidden = true;
    form.querySelector("button[type=submit]")?.before(alert);
    const update = () => {
      if (field) field.hidden = Boolean(chosen().ceremonyOptions);
    };
    method.addEventListener("change", update);
    update();
    form.addEventListener("submit", async (event) => {
      const { ceremonyOptions, ceremonyFailed } = chosen();
      if (!ceremonyOptions) return;
      event.preventDefault();
      alert.hidden = true;
      try {
        const token = form.elements.namedItem("_csrf");
        const started = await post(ceremonyOptions, document.createElement("form"), {
          _csrf: token instanceof HTMLInputElement ? token.value : "",
        });
        if (!started.options) throw new Error(started.error ?? "no options");
        const answer = await webauthn.startAuthentication({ optionsJSON: started.options });
        code.value = JSON.stringify(answer);
        form.submit();
      } catch {
        alert.textContent = ceremonyFailed ?? "";
        alert.hidden = false;
      }
    });
  }
})();
