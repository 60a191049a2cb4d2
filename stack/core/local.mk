# stack/core: errors, allocator, arena, buffers, log hook.
libgecore_la_SOURCES += stack/core/error.c stack/core/mem.c stack/core/arena.c stack/core/buf.c \
	stack/core/log.c stack/core/version.c
gridedgeinclude_HEADERS += stack/include/gridedge/gridedge.h stack/include/gridedge/error.h \
	stack/include/gridedge/mem.h stack/include/gridedge/arena.h stack/include/gridedge/buf.h \
	stack/include/gridedge/log.h
