// Progressive enhancement for the recovery codes page: a print button, and "Continue" only once
// the user has ticked that the codes are saved.
const printButton = document.querySelector(".print-button");
if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}
const form = document.querySelector(".saved-form");
if (form) {
  const checkbox = form.querySelector('input[name="saved"]');
  const submit = form.querySelector('button[type="submit"]');
  const update = () => {
    submit.disabled = !checkbox.checked;
  };
  checkbox.addEventListener("change", update);
  update();
}
