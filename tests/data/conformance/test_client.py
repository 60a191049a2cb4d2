#!/usr/bin/env python3
"""A minimal 2030.5-ish client for testing the conformance head-end itself (not a real client):
it reads DeviceCapability and Time over plain HTTP, then writes a status file with the server's
time for DURATION seconds.  With a fourth argument it also PUTs a document that is not valid
2030.5 (elements out of order) to /edev/1/der/1/ders, with that argument as its Content-Type.
usage: test_client.py URL STATUS_FILE DURATION [CONTENT-TYPE]"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def main():
    url, status_file, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
    base = re.match(r"(https?://[^/]+)", url).group(1)
    dcap = get(url)
    tm = get(base + re.search(r'<TimeLink href="([^"]+)"', dcap).group(1))
    # currentTime is whole seconds, truncated: half a second is the unbiased guess
    offset = int(re.search(r"<currentTime>(\d+)</currentTime>", tm).group(1)) + 0.5 - time.time()
    if len(sys.argv) > 4:
        bad = ('<DERStatus xmlns="urn:ieee:std:2030.5:ns"><readingTime>1</readingTime>'
               '<alarmStatus>0</alarmStatus></DERStatus>').encode()
        req = urllib.request.Request(base + "/edev/1/der/1/ders", data=bad, method="PUT",
                                     headers={"Content-Type": sys.argv[4]})
        try:
            urllib.request.urlopen(req, timeout=5).read()
        except urllib.error.HTTPError:
            pass  # the head-end serves no such resource: what matters is what was sent
    end = time.time() + duration
    while time.time() < end:
        status = {"time": round(time.time() + offset), "site": {"power_w": 0}, "pv": {"power_w": 0},
                  "battery": {"power_w": 0, "soc_pct": 50}, "ev": {"power_w": 0},
                  "active_controls": [], "price": None}
        tmp = status_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(status, f)
        os.replace(tmp, status_file)
        time.sleep(0.3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
