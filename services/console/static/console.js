// Progressive enhancement only: every page works without this script.
import { initAll } from "/frontend/nhsuk-frontend.min.js";

initAll();

// Refresh a region in place (the departure lounge) so that an agency's answer shows without a reload.
for (const region of document.querySelectorAll("[data-refresh-url]")) {
  const seconds = Number(region.dataset.refreshSeconds || 5);
  setInterval(async () => {
    try {
      // Marked as background: a refresh is not the person at the screen, so it does not hold off the idle timeout.
      const answer = await fetch(region.dataset.refreshUrl, {
        credentials: "same-origin",
        headers: { "X-TTG-Background": "1" },
      });
      if (answer.redirected && new URL(answer.url).pathname === "/sign-in") {
        window.location.assign(answer.url); // signed out (idle): stop showing the list on an unattended screen
      } else if (answer.ok && answer.headers.get("content-type")?.startsWith("text/html")) {
        region.innerHTML = await answer.text();
      }
    } catch {
      // offline for a moment: the next round tries again
    }
  }, seconds * 1000);
}
