#!/usr/bin/python3
# python3-libvirt (libvirt's C client library) doing what bench/rpc.ts does, measured the same way.
# Run it with the system /usr/bin/python3 (the one that has the libvirt module).
#
# Usage: /usr/bin/python3 bench/baselines/rpc.py URI DOMAIN SECONDS CASE...
#   seq       lookupByName(DOMAIN).state(), one after the other   -> ops/s
#   cold      seq with no warm-up, in a fresh process (what a short script gets)
#   threads16 the same from 16 threads on one connection (the C library releases the GIL during calls)
#   list      listAllDomains(0)                                   -> calls/s
#   connect   libvirt.open(URI) + close()                         -> median and mean ms
import json
import sys
import threading
import time

import libvirt


def timed(op, secs, warmup=200):
    for _ in range(warmup):
        op()
    start = time.perf_counter()
    end = start + secs
    ops = 0
    now = start
    while now < end:
        for _ in range(16):
            op()
        ops += 16
        now = time.perf_counter()
    return ops, now - start


def main():
    uri, domain, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    # Errors are raised as exceptions; don't let the default handler print them too.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    for case in sys.argv[4:]:
        if case == "seq":
            conn = libvirt.open(uri)
            ops, s = timed(lambda: conn.lookupByName(domain).state(), secs)
            conn.close()
            out = {"ops": ops, "seconds": s}
        elif case == "cold":
            conn = libvirt.open(uri)
            ops, s = timed(lambda: conn.lookupByName(domain).state(), secs, warmup=0)
            conn.close()
            out = {"ops": ops, "seconds": s}
        elif case == "threads16":
            conn = libvirt.open(uri)
            counts = [0] * 16
            stop_at = [time.perf_counter() + 0.3]

            def worker(i):
                while time.perf_counter() < stop_at[0]:
                    conn.lookupByName(domain).state()
                    counts[i] += 1

            def run_all():
                ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()

            run_all()  # warm-up
            counts = [0] * 16
            start = time.perf_counter()
            stop_at[0] = start + secs
            run_all()
            s = time.perf_counter() - start
            conn.close()
            out = {"ops": sum(counts), "seconds": s}
        elif case == "list":
            conn = libvirt.open(uri)
            n = len(conn.listAllDomains(0))
            ops, s = timed(lambda: conn.listAllDomains(0), secs, warmup=50)
            conn.close()
            out = {"ops": ops, "seconds": s, "extra": {"domains": n}}
        elif case == "connect":
            for _ in range(50):
                libvirt.open(uri).close()
            samples = []
            start = time.perf_counter()
            end = start + secs
            now = start
            while now < end:
                libvirt.open(uri).close()
                t = time.perf_counter()
                samples.append(t - now)
                now = t
            s = now - start
            samples.sort()
            out = {
                "ops": len(samples),
                "seconds": s,
                "extra": {"msMedian": samples[len(samples) // 2] * 1000, "msMean": s * 1000 / len(samples)},
            }
        else:
            print(f"unknown case {case}", file=sys.stderr)
            sys.exit(2)
        out.update({"impl": "python3-libvirt", "case": case, "rate": out["ops"] / out["seconds"]})
        print(json.dumps(out), flush=True)


main()
