// Progressive enhancement: a "Copy key" button next to the authenticator secret.
for (const button of document.querySelectorAll("[data-copy-target]")) {
  const target = document.getElementById(button.dataset.copyTarget);
  const status = button.parentElement.querySelector(".copy-status");
  if (!target || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(target.textContent.replace(/\s+/g, ""));
      if (status) status.textContent = button.dataset.copied ?? "";
    } catch {
      if (status) status.textContent = button.dataset.copyFailed ?? "";
    }
  });
}
