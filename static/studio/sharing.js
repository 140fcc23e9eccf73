// A share link's page: a comment's time seeks its video's player, and "At the player's
// current time" fills the comment's moment when it is sent. Without scripts the time
// links to the file at #t= and the moment is typed by hand.
document.addEventListener("DOMContentLoaded", () => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("[data-seek]");
    const player = link && link.closest(".shared-video")?.querySelector("video");
    if (!player) return;
    event.preventDefault();
    player.currentTime = Number(link.dataset.seek);
    player.play().catch(() => {});
    player.scrollIntoView({ block: "nearest", behavior: "smooth" });
  });
  for (const form of document.querySelectorAll(".guest-form")) {
    const box = form.querySelector("[data-at-now]");
    const player = form.closest(".shared-video")?.querySelector("video");
    const at = form.querySelector("input[name=at_seconds]");
    if (!box || !player || !at) continue;
    box.hidden = false;
    form.addEventListener("submit", () => {
      if (box.querySelector("input").checked) at.value = player.currentTime.toFixed(2);
    });
  }
});
