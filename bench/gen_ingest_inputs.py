#!/usr/bin/env python3
"""Inputs of bench/ingest.sh besides gen_data.py's day-1 feed: day 2, a registry, a routing table.

Usage: gen_ingest_inputs.py DIR

DIR must hold what ../shared/bench/intelmq/gen_data.py wrote there:
  2026-03-24-scan_http_vulnerable-nl-geo-asn.csv   day 1 (N rows, IPs in 198.18.0.0/15)
  prefixes.tsv                                     prefix<TAB>asn covering 198.18.0.0/15
Writes into DIR (each first to a temporary name, then renamed):
  2026-03-25-scan_http_vulnerable-nl-geo-asn.csv   day 2, derived from day 1: timestamps and the
      http_date column one day later; about 10 % of day 1's hosts dropped (fixed: every row of
      a dropped address goes); about 5 % new rows (N/20), on addresses of 198.18.0.0/15 that
      day 1 does not have while any are left, else on day-1 addresses with a finding (tag)
      that only day 2 has. Same columns and quoting as gen_data.py (csv module, QUOTE_MINIMAL,
      "\\n"); a new row copies a random kept row and changes ip, hostname, tag, server, port,
      content_length.
  registry.json   {"organisations": [...]}, 100,000 entries (baken registry JSON): CERTs,
      supervisors, the DTC, the national CSIRT and 15 hosters (kinds cert, supervisor, dtc,
      national-csirt, hoster; the hosters register AS numbers of the feed's prefix table),
      the rest kind organisation with a sector (and the sector's supervisor and CERT), about
      5 % vital, a domain under .example and contacts. About 2,000 of them hold disjoint /24
      to /28 networks inside 198.18.0.0/15 (about 70 % of its addresses); the others only a
      domain.
  routing.tsv     prefix<TAB>asn: prefixes.tsv plus 900,000 synthetic IPv4 prefixes (/16 to
      /24, and more-specifics inside some of them) in 1.0.0.0-223.255.255.255 outside
      198.18.0.0/15 and the private/special ranges; sorted by address. Only a lookup table.
  inputs.json     counts: rows of both days, dropped and new rows, organisations, networks,
      prefixes, and the share of each day's addresses in a registered network.

Deterministic (fixed seeds). Environment: BAKEN_BENCH_ORGS (100000), BAKEN_BENCH_ROUTES
(900000) to change the sizes.
"""
import bisect
import csv
import datetime
import ipaddress
import json
import os
import random
import sys

DAY1_NAME = "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv"
DAY2_NAME = "2026-03-25-scan_http_vulnerable-nl-geo-asn.csv"
SPACE = ipaddress.ip_network("198.18.0.0/15")
SPACE_LO = int(SPACE.network_address)
SPACE_SIZE = SPACE.num_addresses

# Findings only day 2 has (illustrative tags, like gen_data.py's): (tag, server header, port)
DAY2_PROFILES = [
    ("fortinet;fortios;cve-2024-21762", "xxxxxxxx-xxxxx", 10443),
    ("paloalto;globalprotect;cve-2024-3400", "", 443),
    ("ivanti;connect-secure;cve-2025-0282", "", 443),
    ("citrix;netscaler;cve-2025-5777", "Apache", 443),
]
# gen_data.py's profiles, for new rows on addresses day 1 does not have
DAY1_PROFILES = [
    ("citrix;cve-2019-19781", "Apache", 443),
    ("pulse-secure;cve-2019-11510", "", 443),
    ("fortinet;fortios;cve-2018-13379", "xxxxxxxx-xxxxx", 10443),
    ("ivanti;connect-secure;cve-2023-46805;cve-2024-21887", "", 443),
    ("citrix;netscaler;cve-2023-3519", "Apache", 443),
    ("http;basic-auth", "lighttpd", 8080),
]

# Sectors as in baken's demo generator: name, share in permille, vital chance in permille,
# supervisor, CERT. The vital chances average about 5 %.
SECTORS = [
    ("health", 120, 40, "igj", "z-cert"),
    ("energy", 30, 400, "acm", "eds-isac"),
    ("water", 20, 400, "ilt", None),
    ("finance", 80, 80, "dnb", "fi-isac"),
    ("government", 60, 150, None, "cert-gov"),
    ("telecom", 30, 250, "rdi", None),
    ("transport", 50, 100, "ilt", None),
    ("education", 100, 0, None, "surfcert"),
    ("retail", 150, 0, None, None),
    ("manufacturing", 160, 0, None, None),
    ("business-services", 200, 0, None, None),
]
HOSTERS = 15

# Address space the synthetic routing table leaves out (besides 0/8 and 224/3).
EXCLUDED = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24")]
# prefix length -> weight, roughly as in the global IPv4 table
ROUTE_LENGTHS = [(16, 25), (17, 10), (18, 15), (19, 30), (20, 50), (21, 50), (22, 120),
                 (23, 100), (24, 600)]


def write_atomic(path, write):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as fh:
        write(fh)
    os.replace(tmp, path)


# --- registry ----------------------------------------------------------------------------------

def carve_networks(rng):
    """Disjoint /24../28 networks inside 198.18.0.0/15: each /24 is split into subnets of one
    length, and each subnet is registered with probability 0.72."""
    nets = []
    lengths, weights = [24, 25, 26, 27, 28], [30, 20, 20, 15, 15]
    for net24 in SPACE.subnets(new_prefix=24):
        plen = rng.choices(lengths, weights)[0]
        for sub in net24.subnets(new_prefix=plen):
            if rng.random() < 0.72:
                nets.append(sub)
    return nets


def party(pid, name, kind, sector=None, role="security", mailbox="info"):
    return {"id": pid, "name": name, "kind": kind, "sector": sector, "vital": False,
            "networks": [], "asns": [], "domains": [f"{pid}.example"],
            "contacts": [{"email": f"{mailbox}@{pid}.example", "role": role}]}


def make_registry(n_orgs, prefix_asns):
    rng = random.Random(20260325)
    orgs = []
    for cert in sorted({s[4] for s in SECTORS if s[4]}):
        orgs.append(party(cert, cert.upper(), "cert"))
    for sup in sorted({s[3] for s in SECTORS if s[3]}):
        orgs.append(party(sup, sup.upper(), "supervisor"))
    orgs.append(party("dtc", "Digital Trust Center", "dtc"))
    orgs.append(party("ncsc", "NCSC", "national-csirt"))
    # hosters register some of the feed's AS numbers (addresses outside every registered
    # network are then attributed through the routing table's AS)
    asns = sorted(set(prefix_asns))
    rng.shuffle(asns)
    for h in range(HOSTERS):
        o = party(f"hoster-{h}", f"Hoster {h} Hosting BV", "hoster", "hosting", "abuse", "abuse")
        o["asns"] = sorted(asns[h * 8:(h + 1) * 8])
        orgs.append(o)

    n_plain = n_orgs - len(orgs)
    nets = carve_networks(rng)
    if len(nets) > n_plain:
        raise SystemExit(f"{len(nets)} networks for {n_plain} organisations: raise BAKEN_BENCH_ORGS")
    # the organisations that hold networks, spread over the ids; about 1 in 8 holds two
    holders = sorted(rng.sample(range(n_plain), len(nets)))
    owner = {}
    for k, net in enumerate(nets):
        if k > 0 and rng.random() < 0.125:
            owner.setdefault(holders[k - 1], []).append(net)
            holders[k] = holders[k - 1]
        else:
            owner.setdefault(holders[k], []).append(net)
    sector_names = [s[0] for s in SECTORS]
    sector_weights = [s[1] for s in SECTORS]
    by_name = {s[0]: s for s in SECTORS}
    vital_count = 0
    for i in range(n_plain):
        oid = f"org-{i:06d}"
        sector = rng.choices(sector_names, sector_weights)[0]
        _, _, vital_pm, supervisor, cert = by_name[sector]
        vital = rng.randrange(1000) < vital_pm
        vital_count += vital
        o = {"id": oid, "name": f"Organisation {i} BV", "kind": "organisation", "sector": sector,
             "vital": vital}
        if vital:
            o["wbni"] = {"report": True, "care": True}
        if supervisor:
            o["supervisor"] = supervisor
        if cert:
            o["cert"] = cert
        o["networks"] = [str(n) for n in owner.get(i, [])]
        o["asns"] = []
        o["domains"] = [f"{oid}.example"]
        contacts = [{"email": f"security@{oid}.example", "role": "security"}]
        if rng.random() < 0.3:
            contacts.append({"email": f"abuse@{oid}.example", "role": "abuse"})
        if rng.random() < 0.2:
            contacts.append({"email": f"info@{oid}.example", "role": "general"})
        o["contacts"] = contacts
        orgs.append(o)
    return orgs, nets, vital_count


# --- routing table -----------------------------------------------------------------------------

def make_routes(n_routes):
    rng = random.Random(20260326)
    lo, hi = int(ipaddress.ip_address("1.0.0.0")), int(ipaddress.ip_address("224.0.0.0"))
    excl = sorted((int(n.network_address), int(n.broadcast_address)) for n in EXCLUDED)
    excl_starts = [a for a, _ in excl]

    def excluded(a, b):
        k = bisect.bisect_right(excl_starts, b) - 1
        return k >= 0 and excl[k][1] >= a

    asn_pool = [rng.randrange(1, 64000) for _ in range(50000)] + \
               [rng.randrange(131072, 400000) for _ in range(25000)]
    lengths = [l for l, _ in ROUTE_LENGTHS]
    weights = [w for _, w in ROUTE_LENGTHS]
    seen = set()
    routes = []

    def add(addr, plen, asn):
        key = (addr, plen)
        if key in seen or excluded(addr, addr + (1 << (32 - plen)) - 1):
            return False
        seen.add(key)
        routes.append((addr, plen, asn))
        return True

    while len(routes) < n_routes:
        plen = rng.choices(lengths, weights)[0]
        size = 1 << (32 - plen)
        addr = rng.randrange(lo, hi) & ~(size - 1)
        asn = rng.choice(asn_pool)
        if not add(addr, plen, asn):
            continue
        # more-specifics: a customer's /24 (or longer) announced inside a shorter prefix
        if plen <= 22 and rng.random() < 0.15 and len(routes) < n_routes:
            sub = rng.choice([24, 24, 24, 25, 26, 27, 28]) if rng.random() < 0.1 else 24
            sub_addr = addr + (rng.randrange(size >> (32 - sub)) << (32 - sub))
            add(sub_addr, sub, rng.choice(asn_pool))
    return routes


# --- day 2 -------------------------------------------------------------------------------------

def shift_timestamp(value, cache, fmt):
    out = cache.get(value)
    if out is None:
        if value:
            t = datetime.datetime.strptime(value, fmt) + datetime.timedelta(days=1)
            out = t.strftime(fmt)
        else:
            out = value
        cache[value] = out
    return out


def make_day2(day1, day2):
    """Streams day 1 twice: once for its addresses and row count, once to write day 2."""
    rng = random.Random(20260325 + 1)
    with open(day1, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        c_ip = header.index("ip")
        day1_ips, n_rows = set(), 0
        for r in reader:
            day1_ips.add(r[c_ip])
            n_rows += 1
    col = {name: k for k, name in enumerate(header)}
    for need in ("timestamp", "ip", "port", "hostname", "hostname_source", "tag", "server",
                 "content_length", "http_date"):
        if need not in col:
            raise SystemExit(f"{day1}: no column {need!r}")
    c_ts, c_date = col["timestamp"], col["http_date"]
    day1_ips = sorted(day1_ips, key=lambda s: int(ipaddress.ip_address(s)))
    dropped = {ip for ip in day1_ips if rng.random() < 0.10}
    used = {int(ipaddress.ip_address(ip)) - SPACE_LO for ip in day1_ips}
    unused = [o for o in range(SPACE_SIZE) if o not in used]
    rng.shuffle(unused)
    n_new = n_rows // 20
    # new rows go after these (kept or dropped) day-1 row positions
    after = sorted(rng.sample(range(n_rows), min(n_new, n_rows)))
    kept_ips = [ip for ip in day1_ips if ip not in dropped]
    pairs = set()
    ts_cache, date_cache = {}, {}
    stats = {"new_rows_new_address": 0, "new_rows_new_finding": 0}

    def new_row(template):
        r = list(template)
        if unused:
            ip = str(ipaddress.ip_address(SPACE_LO + unused.pop()))
            tag, server, port = rng.choice(DAY1_PROFILES + DAY2_PROFILES)
            stats["new_rows_new_address"] += 1
        else:
            while True:   # a finding day 1 cannot have: (address, day-2-only tag)
                ip = rng.choice(kept_ips)
                tag, server, port = rng.choice(DAY2_PROFILES)
                if (ip, tag) not in pairs:
                    break
            stats["new_rows_new_finding"] += 1
        pairs.add((ip, tag))
        rdns = rng.random() < 0.6
        r[c_ip] = ip
        r[col["hostname"]] = f"host-{ip.replace('.', '-')}.example.nl" if rdns else ""
        r[col["hostname_source"]] = "ptr" if rdns else ""
        r[col["tag"]], r[col["server"]], r[col["port"]] = tag, server, str(port)
        r[col["content_length"]] = str(rng.randrange(100, 20000))
        return r

    written = kept = 0

    def write(fh):
        nonlocal written, kept
        k = 0
        last_kept = None
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(header)
        with open(day1, newline="") as src:
            reader = csv.reader(src)
            next(reader)
            for i, r in enumerate(reader):
                r[c_ts] = shift_timestamp(r[c_ts], ts_cache, "%Y-%m-%d %H:%M:%S")
                r[c_date] = shift_timestamp(r[c_date], date_cache, "%a, %d %b %Y %H:%M:%S GMT")
                if r[c_ip] not in dropped:
                    w.writerow(r)
                    written += 1
                    kept += 1
                    last_kept = r
                while k < len(after) and after[k] == i:
                    k += 1
                    w.writerow(new_row(last_kept if last_kept is not None else r))
                    written += 1

    write_atomic(day2, write)
    return {"day1_rows": n_rows, "day1_addresses": len(day1_ips),
            "day2_rows": written, "day2_rows_kept": kept, "day2_rows_dropped": n_rows - kept,
            "day2_addresses_dropped": len(dropped), "day2_rows_new": written - kept, **stats}


def share_in_networks(csv_path, nets):
    """Share of the file's rows (and distinct addresses) whose address is in a registered network."""
    inside = bytearray(SPACE_SIZE)
    for n in nets:
        a = int(n.network_address) - SPACE_LO
        inside[a:a + n.num_addresses] = b"\x01" * n.num_addresses
    rows = hit = 0
    addrs, addr_hit = set(), 0
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        c_ip = next(reader).index("ip")
        for r in reader:
            o = int(ipaddress.ip_address(r[c_ip])) - SPACE_LO
            rows += 1
            h = 0 <= o < SPACE_SIZE and inside[o]
            hit += h
            if o not in addrs:
                addrs.add(o)
                addr_hit += h
    return {"rows": rows, "rows_in_registered_network": hit,
            "share_rows": round(hit / max(rows, 1), 4),
            "share_addresses": round(addr_hit / max(len(addrs), 1), 4)}


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    d = sys.argv[1]
    day1 = os.path.join(d, DAY1_NAME)
    prefixes = os.path.join(d, "prefixes.tsv")
    for p in (day1, prefixes):
        if not os.path.isfile(p):
            raise SystemExit(f"missing {p}: run gen_data.py N {d} first")
    n_orgs = int(os.environ.get("BAKEN_BENCH_ORGS", "100000"))
    n_routes = int(os.environ.get("BAKEN_BENCH_ROUTES", "900000"))

    table = []
    with open(prefixes) as fh:
        for line in fh:
            if line.strip():
                net, asn = line.split("\t")
                table.append((ipaddress.ip_network(net.strip()), int(asn)))

    orgs, nets, vital = make_registry(n_orgs, [a for _, a in table])
    write_atomic(os.path.join(d, "registry.json"),
                 lambda fh: json.dump({"organisations": orgs}, fh, separators=(",", ":")))
    print(f"registry.json: {len(orgs)} organisations, {vital} vital, "
          f"{len(nets)} networks in 198.18.0.0/15", file=sys.stderr)

    routes = make_routes(n_routes)
    routes += [(int(n.network_address), n.prefixlen, a) for n, a in table]
    routes.sort()
    write_atomic(os.path.join(d, "routing.tsv"), lambda fh: fh.writelines(
        f"{ipaddress.IPv4Address(a)}/{l}\t{asn}\n" for a, l, asn in routes))
    print(f"routing.tsv: {len(routes)} prefixes ({len(table)} from prefixes.tsv)", file=sys.stderr)

    day = make_day2(day1, os.path.join(d, DAY2_NAME))
    print(f"{DAY2_NAME}: {day['day2_rows']} rows ({day['day2_rows_dropped']} of day 1's dropped, "
          f"{day['day2_rows_new']} new)", file=sys.stderr)
    cov1 = share_in_networks(day1, nets)
    cov2 = share_in_networks(os.path.join(d, DAY2_NAME), nets)
    covered = sum(n.num_addresses for n in nets)
    info = {"organisations": len(orgs), "vital": vital, "networks": len(nets),
            "addresses_in_networks": covered, "share_of_space": round(covered / SPACE_SIZE, 4),
            "routes": len(routes), "routes_from_prefixes_tsv": len(table), **day,
            "day1_in_registered_network": cov1, "day2_in_registered_network": cov2}
    write_atomic(os.path.join(d, "inputs.json"), lambda fh: json.dump(info, fh, indent=1))
    print(f"registered networks hold {cov1['share_rows']:.1%} of day 1's rows, "
          f"{cov2['share_rows']:.1%} of day 2's", file=sys.stderr)


if __name__ == "__main__":
    main()
