// The GSM 03.38 alphabet a text message is written in. A message of only these characters fits
// 160 of them in one segment (those of the extension table count twice); a single other
// character turns the whole message into UCS-2, 70 characters a segment. Used to keep every text
// the portal sends in one segment (tests), and the practice's name within the alphabet (config).

const basicCharacters =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const extensionCharacters = "^{}\\[~]|€\f";

const basic = new Set(basicCharacters);
const extension = new Set(extensionCharacters);

/** Whether every character of the text is in the GSM-7 alphabet (basic or extension table). */
export function isGsm7(text: string): boolean {
  for (const character of text) {
    if (!basic.has(character) && !extension.has(character)) return false;
  }
  return true;
}

/** The characters of the text that are not in the GSM-7 alphabet, each once. */
export function nonGsm7Characters(text: string): string[] {
  return [...new Set([...text].filter((character) => !basic.has(character) && !extension.has(character)))];
}

/** How many septets the text takes in GSM-7: extension-table characters count as two. Null: not GSM-7. */
export function countGsm7Septets(text: string): number | null {
  let septets = 0;
  for (const character of text) {
    if (basic.has(character)) septets += 1;
    else if (extension.has(character)) septets += 2;
    else return null;
  }
  return septets;
}

/** The most septets one segment holds; a longer message is sent in parts of 153. */
export const septetsPerSegment = 160;
