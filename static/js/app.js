// Dialogs: htmx loads a form into <dialog id="dialog">; this opens and closes it.
// Every dialog link is also a plain link to a full page, so all works without JavaScript.
document.addEventListener("htmx:afterSwap", (event) => {
  const dialog = document.getElementById("dialog");
  if (event.detail.target === dialog && !dialog.open) {
    dialog.showModal();
  }
});
document.addEventListener("click", (event) => {
  if (event.target.matches("[data-dialog-close]")) {
    event.preventDefault();
    document.getElementById("dialog").close();
  }
});
document.addEventListener("close", (event) => {
  if (event.target.id === "dialog") {
    event.target.innerHTML = "";
  }
}, true);
// Stock-in lines: "Add line" clones the empty form of the formset.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-formset-add]");
  if (!button) return;
  event.preventDefault();
  const prefix = button.dataset.formsetAdd;
  const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
  const template = document.getElementById(`${prefix}-empty`);
  const index = Number(total.value);
  const row = template.content.firstElementChild.cloneNode(true);
  row.innerHTML = row.innerHTML.replaceAll("__prefix__", index);
  document.getElementById(`${prefix}-rows`).appendChild(row);
  // The clone's typed fields load their suggestions with htmx, like the server-rendered lines.
  if (window.htmx) htmx.process(row);
  total.value = index + 1;
});
