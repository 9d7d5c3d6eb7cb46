// The recovery code window: Continue only after the tick, and the code's
// Copy / Download / Print buttons. Everything else works without script.
document.addEventListener("DOMContentLoaded", () => {
  const tick = document.getElementById("recorded");
  const go = document.getElementById("continue");
  if (tick && go) {
    const sync = () => { go.disabled = !tick.checked; };
    tick.addEventListener("change", sync);
    sync();
  }
  const text = (id) => document.getElementById(id).innerText.trim();
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text(button.dataset.copy));
        button.textContent = "Copied";
      } catch (e) {
        button.textContent = "Select the code to copy it";
      }
    });
  }
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", () => {
      const file = new Blob([text(button.dataset.download) + "\n"], { type: "text/plain" });
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
