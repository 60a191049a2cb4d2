# stack/xml: sources, headers, tests and tools of this area (included by Makefile.am).
