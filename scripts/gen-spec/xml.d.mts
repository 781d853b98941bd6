export interface XmlElement {
  tag: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Offsets of the element's source text: from its `<` to past its closing `>`. */
  start: number;
  end: number;
}

export function parseXml(text: string, file: string): XmlElement;
