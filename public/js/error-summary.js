// The GOV.UK error summary: when a page comes back with problems, focus moves to the summary so a
// screen reader reads it first; a link in it moves focus to its field, with the label in view.
const summary = document.querySelector("[data-error-summary]");
if (summary) {
  summary.setAttribute("tabindex", "-1");
  summary.focus();
  summary.addEventListener("blur", () => summary.removeAttribute("tabindex"), { once: true });
  summary.addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#"]');
    const field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    const label = document.querySelector(`label[for="${field.id}"]`);
    (label || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
}
