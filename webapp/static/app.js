// The recovery code window: Continue only after the tick, and the code's
// Copy / Download / Print buttons; live countdowns; Escape closes the menu.
// Everything else works without script.
document.addEventListener("DOMContentLoaded", () => {
  const tick = document.getElementById("recorded");
  const go = document.getElementById("continue");
  if (tick && go) {
    const sync = () => { go.disabled = !tick.checked; };
    tick.addEventListener("change", sync);
    sync();
  }
  const text = (id) => document.getElementById(id).innerText.trim();
  // What a button did, on the button and to screen readers (a live region).
  const said = document.createElement("p");
  said.className = "sr-only";
  said.setAttribute("role", "status");
  document.body.append(said);
  const say = (button, words) => { button.textContent = words; said.textContent = words; };
  // A wait counts down each second; when it is over, the sentence says so
  // (and the live region says it once, not every second).
  const seconds = (n) => (n >= 120 ? `${Math.ceil(n / 60)} minutes` : n === 1 ? "1 second" : `${n} seconds`);
  for (const wait of document.querySelectorAll("[data-countdown]")) {
    let left = Number(wait.dataset.countdown);
    const timer = setInterval(() => {
      left -= 1;
      if (left > 0) {
        wait.textContent = seconds(left);
        return;
      }
      clearInterval(timer);
      wait.parentElement.textContent = wait.dataset.done;
      said.textContent = wait.dataset.done;
    }, 1000);
  }
  // Escape closes the open account menu and gives focus back to it.
  document.addEventListener("keydown", (event) => {
    const menu = document.querySelector("details.menu[open]");
    if (event.key === "Escape" && menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text(button.dataset.copy));
        say(button, "Copied");
      } catch (e) {
        say(button, "Select the code to copy it");
      }
    });
  }
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", () => {
      // The code with what it is for: a bare code in a downloads folder
      // says nothing a year later.
      const about = [
        `Recovery code for ${document.body.dataset.site} (${document.body.dataset.account})`,
        `Saved ${new Date().toISOString().slice(0, 10)}. Each code signs in once, instead of a code from your phone.`,
        "",
        text(button.dataset.download),
        "",
      ].join("\n");
      const file = new Blob([about], { type: "text/plain" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(file);
      link.download = "recovery-code.txt";
      link.click();
      URL.revokeObjectURL(link.href);
    });
  }
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
