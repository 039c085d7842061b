/**
 * HTML text that cannot carry markup it was not written with. Every value put into a template is
 * escaped unless it is already `Html` (made by this module), so names from Entra, destination
 * errors and config names ("<script>…", `<img onerror=…>`) show as text. Attribute values are
 * always written in double quotes, so escaping `"` (and `'`) keeps a value inside its attribute.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/** Markup built by `html` (or from a constant); only this module makes one from text. */
export class Html {
  private constructor(readonly text: string) {}

  /** A constant of this codebase (never input): the style block, fixed SVG shapes. */
  static trusted(text: string): Html {
    return new Html(text);
  }

  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Html) return value.text;
  if (typeof value === 'number') return escapeHtml(Number.isFinite(value) ? String(value) : '–');
  if (typeof value === 'string') return escapeHtml(value);
  return value.map(render).join('');
}

/** Tagged template: the literal parts are markup, every interpolated value is escaped (unless Html). */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? '');
  });
  return Html.trusted(text);
}
