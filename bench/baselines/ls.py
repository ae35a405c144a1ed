#!/usr/bin/python3
# What `roost ls --json` asks the daemon, done with python3-libvirt (libvirt's own C client library): every
# domain's definition (XMLDesc), and the state of the running ones. No parsing: this is the daemon's share of a
# listing plus a C client's, for bench/scale.ts to set beside `roost ls` and `virsh list --all`.
# Run it with the system /usr/bin/python3 (the one that has the libvirt module).
#
# Usage: /usr/bin/python3 bench/baselines/ls.py URI    -> prints {"domains": N, "bytes": B}
import json
import sys

import libvirt


def main():
    # Errors are raised as exceptions; don't let the default handler print them too.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(sys.argv[1])
    size = 0
    doms = conn.listAllDomains(0)
    for dom in doms:
        size += len(dom.XMLDesc(0))
        if dom.ID() >= 0:
            dom.state()
    conn.close()
    print(json.dumps({"domains": len(doms), "bytes": size}))


main()
