// Progressive enhancement: "Send a new code" shows how long until it can be used. The seconds are
// not read out (a screen reader would hear them every second); only "you can now…" at zero is.
// The words come from the page (data-waiting, with {{seconds}}, and data-ready), in its language.
const button = document.querySelector(".resend-button");
const label = document.querySelector(".resend-countdown");
const announcement = document.querySelector(".resend-announcement");
if (button && label) {
  let seconds = Number(button.dataset.seconds) || 0;
  const tick = () => {
    if (seconds > 0) {
      button.disabled = true;
      label.textContent = (button.dataset.waiting ?? "").replace("{{seconds}}", String(seconds));
      seconds -= 1;
      setTimeout(tick, 1000);
    } else {
      const wasWaiting = button.disabled;
      button.disabled = false;
      label.textContent = "";
      if (wasWaiting && announcement) announcement.textContent = button.dataset.ready ?? "";
    }
  };
  tick();
}
