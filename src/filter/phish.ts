// Signs of phishing that need no list of bad sites: a message or link that borrows the name of a
// brand people trust while coming from, or leading to, a domain that brand does not own, and an
// HTML attachment that asks for a password (the page then opens from disk, where no link check
// of the mail program sees it).

import { registrableDomain } from './urls.js';

/** Brands phishing most often imitates: the word that names them, and the first label of every
 * registrable domain they send mail and host sites from. */
const BRANDS: { word: RegExp; token: string; domains: string[] }[] = [
  { word: /\bpay ?pal\b/i, token: 'paypal', domains: ['paypal', 'paypal-communication', 'paypal-community', 'xoom', 'venmo'] },
  { word: /\b(?:microsoft|office ?365|microsoft ?365|onedrive|sharepoint)\b/i, token: 'microsoft',
    domains: ['microsoft', 'office', 'office365', 'outlook', 'live', 'hotmail', 'msn', 'microsoftonline', 'sharepoint', 'onedrive', 'skype', 'xbox', 'azure', 'bing', 'windows', 'microsoftstore', 'mail-microsoft', 'cloudappsecurity'] },
  { word: /\boffice365\b/i, token: 'office365', domains: ['office365', 'office', 'microsoft', 'microsoftonline'] },
  { word: /\b(?:dhl|deutsche post)\b/i, token: 'dhl', domains: ['dhl', 'deutschepost', 'dpdhl', 'dhlparcel', 'dhlecommerce', 'dhl-news'] },
  { word: /\bfed ?ex\b/i, token: 'fedex', domains: ['fedex'] },
  { word: /\busps\b/i, token: 'usps', domains: ['usps', 'informeddelivery'] },
  { word: /\bdocu ?sign\b/i, token: 'docusign', domains: ['docusign'] },
  { word: /\bdropbox\b/i, token: 'dropbox', domains: ['dropbox', 'dropboxmail'] },
  { word: /\bnetflix\b/i, token: 'netflix', domains: ['netflix'] },
  // "Apple" alone only as the whole name: "Apple Valley Farm" is not the brand.
  { word: /^\W*apple(?: store| support| pay)?\W*$|\bapple ?id\b|\bicloud\b/i, token: 'icloud', domains: ['apple', 'icloud', 'me', 'mac', 'insideapple'] },
  { word: /\bappleid\b/i, token: 'appleid', domains: ['apple', 'icloud'] },
  { word: /\bamazon(?: prime)?\b/i, token: 'amazon', domains: ['amazon', 'amazonses', 'aws', 'primevideo', 'audible', 'amazonpay', 'media-amazon', 'ssl-images-amazon', 'images-amazon', 'amazon-adsystem', 'amazonaws', 'amazontrust'] },
  { word: /\bwells ?fargo\b/i, token: 'wellsfargo', domains: ['wellsfargo', 'wf'] },
  { word: /\bbank of america\b/i, token: 'bankofamerica', domains: ['bankofamerica', 'bofa', 'ml', 'merrilledge'] },
  { word: /\blinked ?in\b/i, token: 'linkedin', domains: ['linkedin', 'lnkd'] },
  { word: /\bfacebook\b/i, token: 'facebook', domains: ['facebook', 'facebookmail', 'fb', 'meta', 'metamail'] },
  { word: /\binstagram\b/i, token: 'instagram', domains: ['instagram', 'facebookmail'] },
  { word: /\bwhatsapp\b/i, token: 'whatsapp', domains: ['whatsapp', 'facebookmail'] },
  { word: /\bcoinbase\b/i, token: 'coinbase', domains: ['coinbase'] },
  { word: /\bbinance\b/i, token: 'binance', domains: ['binance'] },
  { word: /\bamerican express\b|\bamex\b/i, token: 'americanexpress', domains: ['americanexpress', 'aexp', 'amex'] },
];

function ownLabel(domain: string): string {
  return registrableDomain(domain.toLowerCase()).split('.')[0] ?? '';
}

/** The From display name names a brand, and the From address is not at a domain of it. */
export function fromBrandSpoof(displayName: string, address: string): boolean {
  const at = address.lastIndexOf('@');
  if (displayName === '' || at < 0) return false;
  const label = ownLabel(address.slice(at + 1));
  return BRANDS.some((b) => b.word.test(displayName) && !b.domains.includes(label));
}

/** A link host that wears a brand's name in a subdomain or a hyphenated label of someone else's
 * domain: paypal.com.account-check.example, dhl-redelivery.example. */
export function brandLookalikeHost(host: string): boolean {
  if (host === '' || /^[\d.]+$/.test(host)) return false;
  const parts = host.toLowerCase().split(/[.-]/);
  const label = ownLabel(host);
  return BRANDS.some((b) => parts.includes(b.token) && !b.domains.includes(label));
}

// [^>] is bounded: unbounded, every "<input" of a hostile page without '>' rescans the rest
// of it (1 MB of "<input " took two minutes).
const PASSWORD_FIELD = /<input\b[^>]{0,1024}?\btype\s*=\s*["']?password/i;
const FORM_AWAY = /<form\b[^>]{0,1024}?\baction\s*=\s*["']?\s*https?:/i;
/** Only the start of an attachment is read: a phishing page is small. */
const MAX_SCAN = 256 * 1024;
const SMUGGLING = /\b(?:atob|unescape|String\.fromCharCode|decodeURIComponent)\s*\(|\b(?:window|document|top)\.location(?:\.href)?\s*=|\.replace\s*\(\s*["']https?:/;

/** An attached HTML page that asks for a password, posts a form to a web site, or decodes and
 * redirects with a script (HTML smuggling). */
export function activeHtmlAttachment(page: string): boolean {
  const html = page.length > MAX_SCAN ? page.slice(0, MAX_SCAN) : page;
  return PASSWORD_FIELD.test(html) || FORM_AWAY.test(html) || SMUGGLING.test(html);
}
