// The person picker: as someone types in a person field (an input with
// `data-picker` and a `list`), suggest the users whose name starts with
// what they typed, from GET /api/users?q=. Without JavaScript the field
// still works: the server resolves the name and says when several match.
const pending = new WeakMap();

async function suggest(input) {
  const list = document.getElementById(input.getAttribute("list"));
  const typed = input.value.trim();
  if (!list || typed.length === 0) return;
  const asked = typed;
  const answer = await fetch(`/api/users?q=${encodeURIComponent(typed)}`, {
    credentials: "same-origin",
  });
  if (!answer.ok || input.value.trim() !== asked) return;
  const people = await answer.json();
  list.replaceChildren(
    ...people.map((person) => {
      const option = document.createElement("option");
      option.value = person.id;
      option.textContent = person.name;
      return option;
    }),
  );
}

document.addEventListener("input", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-picker")) return;
  clearTimeout(pending.get(input));
  pending.set(input, setTimeout(() => suggest(input).catch(() => {}), 150));
});
