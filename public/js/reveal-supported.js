// Shows the choices that need the browser's passkey support (WebAuthn), where it has it. Without
// this script, or without support, they stay hidden and the other methods work as before. What only
// stands in for them (a fallback's "recommended") then gives way.
if (window.PublicKeyCredential) {
  for (const element of document.querySelectorAll("[data-needs-webauthn]")) element.hidden = false;
  for (const element of document.querySelectorAll("[data-unless-webauthn]")) element.hidden = true;
  for (const element of document.querySelectorAll("[data-unless-webauthn-class]")) {
    element.classList.remove(element.dataset.unlessWebauthnClass);
  }
}
