# stack/policy: sources, headers, tests and tools of this area (included by Makefile.am).
