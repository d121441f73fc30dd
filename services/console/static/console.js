// Progressive enhancement only: every page works without this script.
import { initAll } from "/frontend/nhsuk-frontend.min.js";

initAll();

// Refresh a region in place (the departure lounge) so that an agency's answer shows without a reload.
for (const region of document.querySelectorAll("[data-refresh-url]")) {
  const seconds = Number(region.dataset.refreshSeconds || 5);
  setInterval(async () => {
    try {
      const answer = await fetch(region.dataset.refreshUrl, { credentials: "same-origin" });
      if (answer.ok && answer.headers.get("content-type")?.startsWith("text/html") && !answer.redirected) {
        region.innerHTML = await answer.text();
      }
    } catch {
      // offline for a moment: the next round tries again
    }
  }, seconds * 1000);
}
