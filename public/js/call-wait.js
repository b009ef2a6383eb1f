// Progressive enhancement for the call page: ask the portal every 2 seconds how the call stands.
// When it was confirmed, continue; when it ended otherwise, reload to show what happened.
const page = document.querySelector(".call-page");
const progress = document.querySelector(".call-progress");
const continueForm = document.querySelector(".continue-button")?.form;
let checks = 0;

async function checkCall() {
  checks += 1;
  try {
    const response = await fetch("/login/2fa/call/status", {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return window.location.reload();
    const { state } = await response.json();
    if (state === "approved" && continueForm) return continueForm.submit();
    if (state !== "calling") return window.location.reload();
  } catch {
    if (progress) progress.textContent = progress.dataset.checkFailed ?? "";
  }
  // A call lasts at most 2 minutes; stop asking well after that.
  if (checks < 90) setTimeout(checkCall, 2000);
}

if (page && page.dataset.state === "calling") setTimeout(checkCall, 2000);
