// Progressive enhancement for the confirmation page: app and SMS codes are digits (numeric
// keyboard, one-time-code autofill); a recovery code has letters, so its keyboard is the full one.
const method = document.getElementById("method");
const code = document.getElementById("code");
if (method && code) {
  const update = () => {
    const isRecovery = method.value === "recovery";
    code.inputMode = isRecovery ? "text" : "numeric";
    code.autocomplete = isRecovery ? "off" : "one-time-code";
  };
  method.addEventListener("change", update);
  update();
}
