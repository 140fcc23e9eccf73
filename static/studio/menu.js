// The top bar's menu on narrow screens: shows the toggle (the page works without it: the
// links then keep a row of their own) and opens or closes the links and account below it.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".topbar__toggle");
  if (!toggle) return;
  const bar = toggle.closest(".topbar");
  const setOpen = (open) => {
    bar.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  bar.classList.add("has-menu");
  toggle.hidden = false;
  toggle.addEventListener("click", () => setOpen(!bar.classList.contains("is-open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bar.classList.contains("is-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  // Wide screens show every link: hide the toggle there (CSS) and forget an open menu.
  const narrow = window.matchMedia("(width <= 900px)");
  narrow.addEventListener("change", () => setOpen(false));
});
