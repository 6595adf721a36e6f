// The tape grids: the animated preview on hover or keyboard focus, or, on a touch screen with
// no hover, while a card rests in view (never with reduced motion, nor when the browser asks to
// save data); and endless scroll that fetches the next cards when the "More tapes" link comes
// into view (the link itself still works without scripts).
const grid = document.getElementById("grid");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
// A finger cannot hover: such screens play what is in view instead.
const noHover = window.matchMedia("(hover: none)");
const saveData = () => Boolean(navigator.connection && navigator.connection.saveData);

function animate(link, on) {
  const img = link.querySelector("img");
  if (!img || !link.dataset.preview) return;
  if (!img.dataset.still) img.dataset.still = img.src;
  const wanted = on && !reducedMotion.matches ? link.dataset.preview : img.dataset.still;
  if (img.src !== wanted) img.src = wanted;
  link.dataset.playing = String(img.src === link.dataset.preview);
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
      // On a touch screen what is in view plays; a tap's emulated mouse events would stop it.
      if (!link || noHover.matches) return;
      // mouseover/out also fire between a link's own children: only crossing its edge counts.
      if (e.relatedTarget && link.contains(e.relatedTarget)) return;
      animate(link, on);
    });
  }
  // Touch screens: a card plays once most of it has stayed on screen for a moment, and stops
  // when scrolled away. The moment spares the previews (the heaviest thing on the page) of the
  // cards a finger only flicks past.
  const SETTLE_MS = 300;
  const settling = new Map();
  const inView =
    "IntersectionObserver" in window
      ? new IntersectionObserver(
          (entries) => {
            if (!noHover.matches) return; // hover and focus decide there
            const autoplay = !reducedMotion.matches && !saveData();
            for (const { target, isIntersecting } of entries) {
              window.clearTimeout(settling.get(target));
              settling.delete(target);
              if (!autoplay || !isIntersecting) {
                animate(target, false);
                continue;
              }
              const timer = window.setTimeout(() => {
                settling.delete(target);
                animate(target, !reducedMotion.matches && !saveData());
              }, SETTLE_MS);
              settling.set(target, timer);
            }
          },
          { threshold: 0.6 },
        )
      : null;
  function watchCards() {
    if (!inView) return;
    for (const link of grid.querySelectorAll("a.card-link[data-preview]:not([data-watched])")) {
      link.dataset.watched = "true";
      inView.observe(link);
    }
  }
  // A setting that changes (reduced motion turned on, a mouse plugged in) applies at once:
  // observing afresh reports every card's place again.
  for (const query of [noHover, reducedMotion]) {
    query.addEventListener("change", () => {
      for (const link of grid.querySelectorAll("a.card-link[data-preview]")) animate(link, false);
      for (const timer of settling.values()) window.clearTimeout(timer);
      settling.clear();
      if (!inView) return;
      inView.disconnect();
      for (const link of grid.querySelectorAll("a.card-link[data-watched]")) inView.observe(link);
    });
  }
  watchCards();

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
      watchCards();
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
