// Shows the choices that need the browser's passkey support (WebAuthn), where it has it. Without
// this script, or without support, they stay hidden and the other methods work as before.
if (window.PublicKeyCredential) {
  for (const element of document.querySelectorAll("[data-needs-webauthn]")) element.hidden = false;
}
