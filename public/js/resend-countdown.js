// Progressive enhancement: "Send a new code" shows how long until it can be used.
const button = document.querySelector(".resend-button");
const label = document.querySelector(".resend-countdown");
if (button && label) {
  let seconds = Number(button.dataset.seconds) || 0;
  const tick = () => {
    if (seconds > 0) {
      button.disabled = true;
      label.textContent = `You can ask for a new code in ${seconds} s.`;
      seconds -= 1;
      setTimeout(tick, 1000);
    } else {
      button.disabled = false;
      label.textContent = "";
    }
  };
  tick();
}
