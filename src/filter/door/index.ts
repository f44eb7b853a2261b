// The door checks (DNSBL, local lists, FCrDNS, HELO, greylisting, pregreet), see door.ts.
export { Door, greetingDelay, type DoorOptions, type DoorResult, type Refusal, type Signal } from './door.js';
export { DnsblChecker, type DnsblOptions, type DnsblResult, type ZoneResult, type ZoneStatus } from './dnsbl.js';
export { compileList, match, type CompiledList, type ListFacts, type ListMatch } from './lists.js';
export { checkFcrdns, type FcrdnsResult, type FcrdnsStatus } from './fcrdns.js';
export { checkHelo, isValidHostname, type HeloFinding, type HeloFindingName } from './helo.js';
export { Greylist, greylistNetwork, type GreylistVerdict } from './greylist.js';
export { parseIp, parseCidr, normalizeIp, cidrContains, dnsblQueryName, reversedName, type Ip, type Cidr } from '../../net/ip.js';
