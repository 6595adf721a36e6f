// The tape grids: the animated preview on hover or keyboard focus (never with reduced motion),
// and endless scroll that fetches the next cards when the "More tapes" link comes into view
// (the link itself still works without scripts).
const grid = document.getElementById("grid");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

function animate(link, on) {
  const img = link.querySelector("img");
  if (!img || !link.dataset.preview) return;
  if (!img.dataset.still) img.dataset.still = img.src;
  const wanted = on && !reducedMotion.matches ? link.dataset.preview : img.dataset.still;
  if (img.src !== wanted) img.src = wanted;
}

if (grid) {
  for (const [event, on] of [
    ["mouseover", true],
    ["mouseout", false],
    ["focusin", true],
    ["focusout", false],
  ]) {
    grid.addEventListener(event, (e) => {
      const link = e.target.closest && e.target.closest("a.card-link");
      if (!link) return;
      // mouseover/out also fire between a link's own children: only crossing its edge counts.
      if (e.relatedTarget && link.contains(e.relatedTarget)) return;
      animate(link, on);
    });
  }
  reducedMotion.addEventListener("change", () => {
    for (const link of grid.querySelectorAll("a.card-link")) animate(link, false);
  });

  let loading = false;
  async function loadMore(more) {
    if (loading) return;
    loading = true;
    more.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(more.dataset.partial, { headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(String(response.status));
      const html = await response.text();
      const item = more.closest("li");
      const template = document.createElement("template");
      template.innerHTML = html;
      item.replaceWith(template.content);
      watch();
    } catch {
      more.removeAttribute("aria-busy");
    } finally {
      loading = false;
    }
  }

  const observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver(
          (entries) => {
            for (const entry of entries) {
              if (entry.isIntersecting) {
                observer.unobserve(entry.target);
                loadMore(entry.target);
              }
            }
          },
          { rootMargin: "400px" },
        )
      : null;

  function watch() {
    const more = grid.querySelector("a.more");
    if (more && observer) observer.observe(more);
  }
  watch();
}
