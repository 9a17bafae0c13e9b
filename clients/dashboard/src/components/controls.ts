import { h } from "../dom.js";

/** A labelled <select>; `onChange` gets the chosen value. */
export function selectControl(options: {
  label: string;
  name: string;
  choices: readonly { value: string; text: string }[];
  value: string;
  onChange: (value: string) => void;
}): HTMLLabelElement {
  const select = h("select", { name: options.name }, ...options.choices.map((c) => h("option", { value: c.value, selected: c.value === options.value }, c.text)));
  select.addEventListener("change", () => options.onChange(select.value));
  return h("label", { class: "control" }, `${options.label} `, select);
}
