// Progressive enhancement for the confirmation page: app and SMS codes are digits (numeric
// keyboard, one-time-code autofill); a recovery code has letters, so its keyboard is the full one.
// Each option says which (data-code-format).
const method = document.getElementById("method");
const code = document.getElementById("code");
if (method && code) {
  const update = () => {
    const isText = method.selectedOptions[0]?.dataset.codeFormat === "text";
    code.inputMode = isText ? "text" : "numeric";
    code.autocomplete = isText ? "off" : "one-time-code";
  };
  method.addEventListener("change", update);
  update();
}
