#!/usr/bin/env python3
"""gen_codec.py - the codec generator: turns one schemas/*.schema description into C.

Writes, in the build tree (never committed):
  HEADER  - the message types: one struct per complex type (starting with its base type's
            members, in the base's layout; a polymorphic element -- maxOccurs 1, a type with
            derived types -- adds NAME_xsi after NAME), the root-element and type index enums,
            typedef aliases named after root elements;
  TABLES  - the decode/encode tables (ge_xml_stype_t, ge_xml_ctype_t with its base type, field
            offsets, facets, xs:pattern compiled to NFAs) and the ge_xml_schema_<name> object.
The mapping is described in docs/codec.md.

usage: gen_codec.py SCHEMA-FILE HEADER TABLES
"""
import os
import re
import sys

C_KEYWORDS = {
    'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do', 'double', 'else',
    'enum', 'extern', 'float', 'for', 'goto', 'if', 'inline', 'int', 'long', 'register',
    'restrict', 'return', 'short', 'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef',
    'union', 'unsigned', 'void', 'volatile', 'while', 'bool', 'true', 'false',
}

I64 = (-(1 << 63), (1 << 63) - 1)
U64 = (0, (1 << 64) - 1)
INT_RANGES = {
    'byte': (-128, 127), 'short': (-32768, 32767), 'int': (-(1 << 31), (1 << 31) - 1), 'long': I64,
    'unsignedByte': (0, 255), 'unsignedShort': (0, 65535), 'unsignedInt': (0, (1 << 32) - 1),
    'unsignedLong': U64, 'integer': I64, 'nonNegativeInteger': U64, 'positiveInteger': (1, U64[1]),
    'nonPositiveInteger': (I64[0], 0), 'negativeInteger': (I64[0], -1),
}
KIND_C = {
    'STRING': 'char *', 'BOOL': 'bool', 'I8': 'int8_t', 'I16': 'int16_t', 'I32': 'int32_t',
    'I64': 'int64_t', 'U8': 'uint8_t', 'U16': 'uint16_t', 'U32': 'uint32_t', 'U64': 'uint64_t',
    'DOUBLE': 'double', 'HEX': 'ge_xml_bytes_t', 'BASE64': 'ge_xml_bytes_t',
}
POINTERISH = ('STRING', 'HEX', 'BASE64')


class GenError(Exception):
    pass


def unesc(s):
    if s == '%':
        return ''
    return re.sub(r'%([0-9A-F]{2})', lambda m: chr(int(m.group(1), 16)), s)


def cstr(s):
    out = ['"']
    for b in s.encode('utf-8'):
        c = chr(b)
        if c in '"\\':
            out.append('\\' + c)
        elif 32 <= b < 127 and c != '?':
            out.append(c)
        else:
            out.append('\\%03o' % b)
    out.append('"')
    return ''.join(out)


def ident(s):
    s = re.sub(r'[^A-Za-z0-9_]', '_', s)
    if s[0].isdigit():
        s = '_' + s
    return s + '_' if s in C_KEYWORDS else s


# --- xs:pattern -> Thompson NFA -------------------------------------------------------------------

class Regex:
    """A parser for the XSD regular expression subset used by the schemas (XSD part 2, appendix F)."""

    def __init__(self, src):
        self.s = src
        self.i = 0

    def parse(self):
        node = self.alt()
        if self.i != len(self.s):
            raise GenError('pattern %r: unexpected %r' % (self.s, self.s[self.i]))
        return node

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else None

    def alt(self):
        branches = [self.seq()]
        while self.peek() == '|':
            self.i += 1
            branches.append(self.seq())
        return ('alt', branches) if len(branches) > 1 else branches[0]

    def seq(self):
        items = []
        while self.peek() not in (None, '|', ')'):
            atom = self.atom()
            items.append(self.quant(atom))
        return ('seq', items)

    def quant(self, atom):
        c = self.peek()
        if c == '*':
            self.i += 1
            return ('rep', atom, 0, None)
        if c == '+':
            self.i += 1
            return ('rep', atom, 1, None)
        if c == '?':
            self.i += 1
            return ('rep', atom, 0, 1)
        if c == '{':
            j = self.s.index('}', self.i)
            body = self.s[self.i + 1:j]
            self.i = j + 1
            if ',' in body:
                lo, hi = body.split(',', 1)
                return ('rep', atom, int(lo), int(hi) if hi else None)
            return ('rep', atom, int(body), int(body))
        return atom

    ESC_CLASS = {
        'd': (False, [(0x30, 0x39)]),
        's': (False, [(0x20, 0x20), (0x9, 0xA), (0xD, 0xD)]),
        # \w: not punctuation, separators or controls; approximated on ASCII, all else allowed
        'w': (True, [(0x0, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7F)]),
    }

    def escape(self):
        c = self.s[self.i]
        self.i += 1
        if c.lower() in self.ESC_CLASS:
            neg, rng = self.ESC_CLASS[c.lower()]
            return ('class', neg != c.isupper(), rng)
        if c in 'nrt':
            v = {'n': 10, 'r': 13, 't': 9}[c]
            return ('class', False, [(v, v)])
        if c in 'ic' or c in 'pP':
            raise GenError('pattern %r: \\%s is not supported' % (self.s, c))
        return ('class', False, [(ord(c), ord(c))])

    def atom(self):
        c = self.s[self.i]
        if c == '(':
            self.i += 1
            node = self.alt()
            if self.peek() != ')':
                raise GenError('pattern %r: missing )' % self.s)
            self.i += 1
            return node
        if c == '[':
            return self.cclass()
        if c == '.':
            self.i += 1
            return ('class', True, [(10, 10), (13, 13)])
        if c == '\\':
            self.i += 1
            return self.escape()
        self.i += 1
        return ('class', False, [(ord(c), ord(c))])

    def cclass(self):
        self.i += 1
        neg = False
        if self.peek() == '^':
            neg = True
            self.i += 1
        ranges = []
        first = True
        while first or self.peek() != ']':
            first = False
            if self.peek() is None:
                raise GenError('pattern %r: missing ]' % self.s)
            if self.s[self.i] == '\\':
                self.i += 1
                e = self.escape()
                if e[1]:
                    raise GenError('pattern %r: negated escape in a class' % self.s)
                lo = e[2][0][0] if len(e[2]) == 1 and e[2][0][0] == e[2][0][1] else None
                if lo is None:
                    ranges.extend(e[2])
                    continue
            else:
                lo = ord(self.s[self.i])
                self.i += 1
            if self.peek() == '-' and self.i + 1 < len(self.s) and self.s[self.i + 1] != ']':
                self.i += 1
                if self.s[self.i] == '[':
                    raise GenError('pattern %r: class subtraction is not supported' % self.s)
                if self.s[self.i] == '\\':
                    self.i += 1
                    hi = self.escape()[2][0][0]
                else:
                    hi = ord(self.s[self.i])
                    self.i += 1
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        self.i += 1
        return ('class', neg, ranges)


class Nfa:
    def __init__(self):
        self.states = []  # [op, negate, out, out1, ranges]

    def new(self, op, neg=False, ranges=()):
        self.states.append([op, neg, None, None, list(ranges)])
        return len(self.states) - 1

    def patch(self, outs, target):
        for s, which in outs:
            self.states[s][2 if which == 0 else 3] = target

    def build(self, node):
        kind = node[0]
        if kind == 'class':
            s = self.new(0, node[1], node[2])
            return s, [(s, 0)]
        if kind == 'seq':
            if not node[1]:
                s = self.new(1)
                return s, [(s, 0), (s, 1)]
            start, outs = self.build(node[1][0])
            for sub in node[1][1:]:
                s2, o2 = self.build(sub)
                self.patch(outs, s2)
                outs = o2
            return start, outs
        if kind == 'alt':
            start, outs = self.build(node[1][0])
            for sub in node[1][1:]:
                s2, o2 = self.build(sub)
                sp = self.new(1)
                self.states[sp][2] = start
                self.states[sp][3] = s2
                start, outs = sp, outs + o2
            return start, outs
        if kind == 'rep':
            sub, lo, hi = node[1], node[2], node[3]
            parts = [sub] * lo
            if hi is None:
                parts.append(('star', sub))
            else:
                parts += [('opt', sub)] * (hi - lo)
            return self.build(('seq', parts)) if parts else self.build(('seq', []))
        if kind == 'star':
            s, o = self.build(node[1])
            sp = self.new(1)
            self.states[sp][2] = s
            self.patch(o, sp)
            return sp, [(sp, 1)]
        if kind == 'opt':
            s, o = self.build(node[1])
            sp = self.new(1)
            self.states[sp][2] = s
            return sp, o + [(sp, 1)]
        raise GenError('bad regex node %r' % (kind,))


def compile_pattern(src):
    nfa = Nfa()
    start, outs = nfa.build(Regex(src).parse())
    m = nfa.new(2)
    nfa.patch(outs, m)
    if len(nfa.states) > 1024:
        raise GenError('pattern %r: too many NFA states' % src)
    return nfa, start


# --- the schema description ---------------------------------------------------------------------

class SType:
    def __init__(self, name):
        self.name = name
        self.builtin = None
        self.facets = {}
        self.enums = []
        self.patterns = []
        self.members = None
        self.is_list = False


class Particle:
    def __init__(self, what, name=None, tname=None, mn=1, mx=1, fixed=None):
        self.what, self.name, self.tname, self.mn, self.mx, self.fixed = what, name, tname, mn, mx, fixed
        self.kids = []


class CType:
    def __init__(self, name, head):
        self.name = name
        self.base = None
        self.simple = None
        self.abstract = 'abstract' in head
        for h in head:
            if h.startswith('base='):
                self.base = h[5:]
            elif h.startswith('simple='):
                self.simple = h[7:]
        self.particles = []
        self.attrs = []   # (qname, tname, required, default, fixed, owner)
        self.any_attr = False


def occ(s):
    return None if s == '*' else int(s)


def read_schema(path):
    stypes, ctypes, roots, ns = {}, {}, [], []
    name = None
    cur = None
    stack = []
    last_simple = None
    with open(path, encoding='utf-8') as f:
        for lineno, raw in enumerate(f, 1):
            # comments start a line or follow a space ('#' may appear inside a namespace URI)
            line = re.split(r'(?:^|\s)#', raw.rstrip('\n'), maxsplit=1)[0].rstrip()
            if not line.strip():
                continue
            parts = line.split()
            kw = parts[0]
            try:
                if kw == 'schema':
                    name = parts[1]
                elif kw == 'ns':
                    # ns PREFIX URI [ALT-URI]: the encoder writes URI, the decoder takes either
                    if len(parts) > 4:
                        raise GenError('%s:%d: a namespace has at most one alternative URI' % (path, lineno))
                    ns.append((parts[1], parts[2], parts[3] if len(parts) == 4 else None))
                elif kw == 'simple':
                    st = SType(parts[1])
                    if parts[2] in ('union', 'list'):
                        st.members = parts[3:]
                        st.is_list = parts[2] == 'list'
                    else:
                        st.builtin = parts[2][3:]
                        for fa in parts[3:]:
                            k, v = fa.split('=', 1)
                            if k == 'pattern':
                                st.patterns.append(unesc(v))
                            else:
                                st.facets[k] = unesc(v)
                    stypes[st.name] = st
                    last_simple = st
                    cur = None
                elif kw == 'enum':
                    last_simple.enums.append(unesc(parts[1]))
                elif kw == 'complex':
                    cur = CType(parts[1], parts[2:])
                    ctypes[cur.name] = cur
                    stack = [cur.particles]
                    last_simple = None
                elif kw in ('elem', 'opaque'):
                    if kw == 'elem':
                        p = Particle('elem', parts[1], parts[2], occ(parts[3]), occ(parts[4]))
                        for extra in parts[5:]:
                            if extra.startswith('fixed='):
                                p.fixed = unesc(extra[6:])
                    else:
                        p = Particle('opaque', parts[1], None, occ(parts[2]), occ(parts[3]))
                    stack[-1].append(p)
                elif kw in ('choice', 'sequence'):
                    p = Particle(kw, None, None, occ(parts[1]), occ(parts[2]))
                    stack[-1].append(p)
                    stack.append(p.kids)
                elif kw == 'end':
                    stack.pop()
                elif kw == 'any':
                    raise GenError('xs:any is not supported by the generator yet')
                elif kw == 'attr':
                    req = parts[3] == 'required'
                    dflt = fixed = None
                    for extra in parts[4:]:
                        if extra.startswith('default='):
                            dflt = unesc(extra[8:])
                        elif extra.startswith('fixed='):
                            fixed = unesc(extra[6:])
                    cur.attrs.append((parts[1], parts[2], req, dflt, fixed, cur.name))
                elif kw == 'anyattr':
                    cur.any_attr = True
                elif kw == 'root':
                    roots.append((parts[1], parts[2]))
                else:
                    raise GenError('unknown keyword %s' % kw)
            except (IndexError, KeyError, ValueError) as e:
                raise GenError('%s:%d: %s' % (path, lineno, e))
    return name, ns, stypes, ctypes, roots


class Gen:
    def __init__(self, path):
        self.name, self.ns, self.stypes, self.ctypes, self.roots = read_schema(path)
        self.ns_index = {ns[0]: i for i, ns in enumerate(self.ns)}
        self.cprefix = 'sep' if self.name == 'sep' else 'oadr'
        self.sym = ident(self.name)
        self.used_stypes = {}
        self.patterns = []
        # complex types with types derived from them (by extension, transitively) in this schema
        self.has_derived = set()
        for ct in self.ctypes.values():
            b, seen = ct.base, {ct.name}
            while b and b not in seen:
                if b not in self.ctypes:
                    raise GenError('%s: base type %s is not in the schema' % (ct.name, b))
                self.has_derived.add(b)
                seen.add(b)
                b = self.ctypes[b].base

    # names
    def split(self, qn):
        if qn.startswith(':'):
            return None, qn[1:]
        pfx, local = qn.split(':', 1)
        return pfx, local

    def ctype_name(self, qn):
        pfx, local = self.split(qn)
        if pfx == self.cprefix:
            return '%s_%s' % (self.cprefix, ident(local))
        return '%s_%s_%s' % (self.cprefix, ident(pfx), ident(local))

    def ns_of(self, qn):
        pfx, _ = self.split(qn)
        if pfx is None:
            return 'GE_XML_NO_NS'
        if pfx == 'xml':
            return 'GE_XML_NO_NS'
        return str(self.ns_index[pfx])

    # simple types
    def resolve(self, tname):
        """(kind, ws, info) of a simple type name, creating xs: built-ins on demand."""
        if tname.startswith('xs:'):
            st = SType(tname)
            st.builtin = tname[3:]
            return st
        return self.stypes[tname]

    def skind(self, st):
        if st.members is not None:
            return 'STRING'
        b = st.builtin
        if b == 'boolean':
            return 'BOOL'
        if b in ('float', 'double', 'decimal'):
            return 'DOUBLE'
        if b == 'hexBinary':
            return 'HEX'
        if b == 'base64Binary':
            return 'BASE64'
        if b in INT_RANGES:
            lo, hi = self.int_range(st)
            if lo >= 0:
                for k, m in (('U8', 255), ('U16', 65535), ('U32', (1 << 32) - 1)):
                    if hi <= m:
                        return k
                return 'U64'
            for k, bits in (('I8', 8), ('I16', 16), ('I32', 32)):
                if lo >= -(1 << (bits - 1)) and hi <= (1 << (bits - 1)) - 1:
                    return k
            return 'I64'
        return 'STRING'

    def int_range(self, st):
        lo, hi = INT_RANGES[st.builtin]
        f = st.facets
        if 'minInclusive' in f:
            lo = max(lo, int(f['minInclusive']))
        if 'minExclusive' in f:
            lo = max(lo, int(f['minExclusive']) + 1)
        if 'maxInclusive' in f:
            hi = min(hi, int(f['maxInclusive']))
        if 'maxExclusive' in f:
            hi = min(hi, int(f['maxExclusive']) - 1)
        return lo, hi

    def stype_sym(self, tname):
        if tname not in self.used_stypes:
            self.used_stypes[tname] = 'st_%d' % len(self.used_stypes)
            st = self.resolve(tname)
            if st.members:
                for m in st.members:
                    self.stype_sym(m)
        return self.used_stypes[tname]

    def emit_stype(self, out, tname):
        sym = self.used_stypes[tname]
        st = self.resolve(tname)
        kind = self.skind(st)
        b = st.builtin or 'string'
        ws = 'GE_XML_WS_PRESERVE' if b == 'string' and st.members is None else \
            'GE_XML_WS_REPLACE' if b == 'normalizedString' else 'GE_XML_WS_COLLAPSE'
        flags = []
        imin = imax = 0
        umin = umax = 0
        dmin = dmax = '0.0'
        f = st.facets
        if kind.startswith('I'):
            imin, imax = self.int_range(st)
        elif kind.startswith('U'):
            umin, umax = self.int_range(st)
        elif kind == 'DOUBLE':
            for k, flag, attr in (('minInclusive', 'GE_XML_S_DMIN', 'min'), ('maxInclusive', 'GE_XML_S_DMAX', 'max'),
                                  ('minExclusive', 'GE_XML_S_DMIN|GE_XML_S_DMIN_EXCL', 'min'),
                                  ('maxExclusive', 'GE_XML_S_DMAX|GE_XML_S_DMAX_EXCL', 'max')):
                if k in f:
                    flags.append(flag)
                    if attr == 'min':
                        dmin = repr(float(f[k]))
                    else:
                        dmax = repr(float(f[k]))
        if b == 'decimal':
            flags.append('GE_XML_S_DECIMAL')
        if st.is_list:
            flags.append('GE_XML_S_LIST')
        minlen = maxlen = 0
        if 'length' in f:
            flags += ['GE_XML_S_MINLEN', 'GE_XML_S_MAXLEN']
            minlen = maxlen = int(f['length'])
        if 'minLength' in f:
            flags.append('GE_XML_S_MINLEN')
            minlen = int(f['minLength'])
        if 'maxLength' in f:
            flags.append('GE_XML_S_MAXLEN')
            maxlen = int(f['maxLength'])
        enums = 'NULL'
        if st.enums:
            out.append('static const char *const %s_enums[] = { %s };' % (sym, ', '.join(cstr(e) for e in st.enums)))
            enums = '%s_enums' % sym
        pats = 'NULL'
        if st.patterns:
            psyms = [self.emit_pattern(out, p) for p in st.patterns]
            out.append('static const ge_xml_pattern_t *const %s_pats[] = { %s };' % (sym, ', '.join('&' + p for p in psyms)))
            pats = '%s_pats' % sym
        mems = 'NULL'
        if st.members:
            out.append('static const ge_xml_stype_t *const %s_mems[] = { %s };' % (
                sym, ', '.join('&' + self.used_stypes[m] for m in st.members)))
            mems = '%s_mems' % sym

        def i64(v):
            return 'INT64_MIN' if v == I64[0] else ('INT64_C(%d)' % v)
        out.append('static const ge_xml_stype_t %s = { %s, %s, GE_XML_%s, %s, %s, %s, %s, UINT64_C(%d), UINT64_C(%d), %s, %s, %d, %d, %s, %d, %s, %d, %s, %d };' % (
            sym, cstr(tname), 'NULL' if st.members else cstr(b), kind, ws, '|'.join(flags) or '0', i64(imin), i64(imax), umin, umax, dmin, dmax,
            minlen, maxlen, enums, len(st.enums), pats, len(st.patterns), mems, len(st.members or [])))

    def emit_pattern(self, out, src):
        sym = 'pat_%d' % len(self.patterns)
        self.patterns.append(src)
        nfa, start = compile_pattern(src)
        ranges = []
        states = []
        for op, neg, o, o1, rng in nfa.states:
            first = len(ranges) // 2
            for lo, hi in rng:
                ranges += [lo, hi]
            states.append('{ %d, %d, %d, %d, %d, %d }' % (op, 1 if neg else 0, o if o is not None else 0,
                                                          o1 if o1 is not None else 0, first, len(rng)))
        out.append('static const uint32_t %s_ranges[] = { %s };' % (sym, ', '.join('0x%X' % r for r in ranges) or '0'))
        out.append('static const ge_xml_nfa_state_t %s_states[] = {\n    %s\n};' % (sym, ',\n    '.join(states)))
        out.append('static const ge_xml_pattern_t %s = { %s, %s_states, %d, %d, %s_ranges };' % (
            sym, cstr(src), sym, len(states), start, sym))
        return sym

    # complex types
    def fields(self, ct, seen=None):
        """Flattened (elements, attrs, text, groups) of CT, base type's first; each element and
        attribute records the type that declares it (its owner), and TEXT is (simple type, owner)."""
        if seen is None:
            seen = set()
        if ct.name in seen:
            raise GenError('derivation loop at %s' % ct.name)
        seen.add(ct.name)
        if ct.base:
            elems, attrs, text, groups = self.fields(self.ctypes[ct.base], seen)
            elems, attrs, groups = list(elems), list(attrs), list(groups)
        else:
            elems, attrs, text, groups = [], [], None, []
        if ct.simple:
            text = (ct.simple, ct.name)
        for p in ct.particles:
            if p.what in ('elem', 'opaque'):
                elems.append(dict(p=p, group=0, mn=p.mn, mx=p.mx, owner=ct.name))
            elif p.what == 'choice':
                g = len(groups) + 1
                first = len(elems)
                for k in p.kids:
                    if k.what not in ('elem', 'opaque'):
                        raise GenError('%s: only elements are supported inside a choice' % ct.name)
                    if p.mx == 1:
                        mx = k.mx
                    elif k.mx is None or p.mx is None:
                        mx = None
                    else:
                        mx = k.mx * p.mx
                    elems.append(dict(p=k, group=g, mn=0, mx=mx, owner=ct.name))
                # a choice with an optional alternative can be empty (XSD part 1, 3.8.6)
                gmin = p.mn if all(k.mn >= 1 for k in p.kids) else 0
                groups.append((gmin, p.mx, first, len(p.kids)))
            else:
                raise GenError('%s: nested %s with occurrence %s..%s is not supported' %
                               (ct.name, p.what, p.mn, p.mx))
        attrs = attrs + list(ct.attrs)
        return elems, attrs, text, groups

    def collapse(self, tname):
        """A complex type with simple content and no attributes is held as its simple value."""
        seen = set()
        while tname in self.ctypes and tname not in seen:
            seen.add(tname)
            elems, attrs, text, groups = self.fields(self.ctypes[tname])
            if elems or attrs or not text:
                return tname
            tname = text[0]
        return tname

    def run(self, hpath, cpath):
        guard = 'GRIDEDGE_XML_%s_H' % self.sym.upper()
        h = ['/* gridedge/xml_%s.h - GENERATED by stack/xml/gen_codec.py from schemas/%s.schema; do not edit.' % (self.sym, self.name),
             ' * The message types of the "%s" schema: docs/codec.md describes the mapping. */' % self.name,
             '#ifndef %s' % guard, '#define %s' % guard, '', '#include <gridedge/xml.h>', '',
             '#ifdef __cplusplus', 'extern "C" {', '#endif', '']
        names = sorted(self.ctypes)
        for n in names:
            cn = self.ctype_name(n)
            h.append('typedef struct %s %s_t;' % (cn, cn))
        h.append('')
        c = ['/* xml_%s_tables.c - GENERATED by stack/xml/gen_codec.py from schemas/%s.schema; do not edit. */' % (self.sym, self.name),
             '#include "config.h"', '', '#include <stddef.h>', '#include <stdint.h>', '',
             '#include <gridedge/xml_%s.h>' % self.sym, '']
        type_tables = []
        layouts = {}
        for n in names:
            ct = self.ctypes[n]
            cn = self.ctype_name(n)
            elems, attrs, text, groups = self.fields(ct)
            # C members by (declaring type, 0 elements / 1 simple content / 2 attributes): a struct
            # starts with all of its base type's members, in the base's own order, so that a pointer
            # to it can be read as a pointer to its base type (xsi:type, docs/codec.md).  Names are
            # still chosen in table order (elements, attributes, content), which decides clashes.
            members = {}
            slot = None
            used = set()
            entries_e, entries_a = [], []

            def member(qn, what):
                pfx, local = self.split(qn)
                m = ident(local)
                if m in used:
                    m = ident('%s_%s' % (pfx or what, local))
                while m in used:
                    m += '_'
                used.add(m)
                return m

            def field(qn, what, tname, mn, mx, group, fixed, is_opaque=False, next_req=0):
                out = members.setdefault(slot, [])
                pfx, local = self.split(qn)
                m = member(qn, 'attr' if what == 'ATTR' else 'elem')
                stype = ctype = 'NULL'
                aux = 'GE_XML_NO_AUX'
                if not is_opaque:
                    tname = self.collapse(tname)
                if is_opaque:
                    ctyp = 'char *'
                elif tname in self.ctypes:
                    ctyp = '%s_t *' % self.ctype_name(tname)
                    ctype = '&ct_%s' % self.ctype_name(tname)
                else:
                    st = self.resolve(tname)
                    kind = self.skind(st)
                    ctyp = KIND_C[kind]
                    stype = '&' + self.stype_sym(tname)
                repeated = mx is None or mx > 1
                xsi_off = '0'
                if repeated:
                    out.append('    %s*%s; /* %s %s..%s */' % (ctyp if ctyp.endswith('*') else ctyp + ' ', m, qn, mn, '*' if mx is None else mx))
                    out.append('    size_t %s_count;' % m)
                    aux = 'offsetof(%s_t, %s_count)' % (cn, m)
                else:
                    sep = '' if ctyp.endswith('*') else ' '
                    out.append('    %s%s%s; /* %s%s */' % (ctyp, sep, m, qn, '' if mn else ' (optional)'))
                    if what == 'ELEM' and not is_opaque and tname in self.has_derived:
                        # polymorphic: the element may carry xsi:type naming a derived type
                        xm = member(':%s_xsi' % m, 'xsi')
                        out.append('    const ge_xml_ctype_t *%s; /* the type of *%s: %s or derived (xsi:type) */' % (xm, m, tname))
                        xsi_off = 'offsetof(%s_t, %s)' % (cn, xm)
                    if mn == 0 and not is_opaque and ctype == 'NULL' and self.skind(self.resolve(tname)) not in POINTERISH:
                        hm = member(':has_' + m, 'has')
                        out.append('    bool %s;' % hm)
                        aux = 'offsetof(%s_t, %s)' % (cn, hm)
                what_c = {'ELEM': 'GE_XML_F_ELEM', 'ATTR': 'GE_XML_F_ATTR', 'TEXT': 'GE_XML_F_TEXT'}[what]
                if is_opaque:
                    what_c = 'GE_XML_F_OPAQUE'
                return '{ %s, %s, %s, %d, %d, %s, offsetof(%s_t, %s), %s, %s, %s, %s, %d, %d, %s }' % (
                    cstr(local), self.ns_of(qn), what_c, group, mn, 'GE_XML_UNBOUNDED' if mx is None else mx,
                    cn, m, aux, stype, ctype, cstr(fixed) if fixed is not None else 'NULL',
                    len(local.encode('utf-8')), next_req, xsi_off)

            # next_req: the next element a walk leaving elements behind must look at (one with a
            # minOccurs, or in a choice with one); the decoder jumps over the others
            next_reqs, nxt = [0] * len(elems), len(elems)
            for k in range(len(elems) - 1, -1, -1):
                next_reqs[k] = nxt
                e = elems[k]
                if e['group'] == 0 and e['mn'] > 0 or e['group'] > 0 and groups[e['group'] - 1][0] > 0:
                    nxt = k
            for e, nr in zip(elems, next_reqs):
                p = e['p']
                slot = (e['owner'], 0)
                entries_e.append(field(p.name, 'ELEM', p.tname, e['mn'], e['mx'], e['group'], p.fixed,
                                       is_opaque=(p.what == 'opaque'), next_req=nr))
            for (qn, tname, req, dflt, fixed, owner) in attrs:
                slot = (owner, 2)
                entries_a.append(field(qn, 'ATTR', tname, 1 if req else 0, 1, 0, fixed))
            text_entry = None
            if text:
                slot = (text[1], 1)
                text_entry = field(':value', 'TEXT', text[0], 1, 1, 0, None)
            if len(entries_a) > 64:
                raise GenError('%s: more than 64 attributes' % n)
            chain = [ct]
            while chain[-1].base:
                chain.append(self.ctypes[chain[-1].base])
            lines = [ln for t in reversed(chain) for k in (0, 1, 2) for ln in members.get((t.name, k), [])]
            if not lines:
                lines.append('    char ge_empty_; /* no content */')
            h.append('/* %s%s%s */' % (n, ' (abstract)' if ct.abstract else '', ', extends ' + ct.base if ct.base else ''))
            h.append('struct %s {' % cn)
            h.extend(lines)
            h.append('};')
            h.append('')
            if entries_e:
                c.append('static const ge_xml_field_t ct_%s_elems[] = {\n    %s\n};' % (cn, ',\n    '.join(entries_e)))
            if entries_a:
                c.append('static const ge_xml_field_t ct_%s_attrs[] = {\n    %s\n};' % (cn, ',\n    '.join(entries_a)))
            if text_entry:
                c.append('static const ge_xml_field_t ct_%s_text = %s;' % (cn, text_entry))
            if groups:
                c.append('static const ge_xml_group_t ct_%s_groups[] = { %s };' % (cn, ', '.join(
                    '{ %d, %s, %d, %d }' % (mn, 'GE_XML_UNBOUNDED' if mx is None else mx, first, cnt)
                    for mn, mx, first, cnt in groups)))
            layouts[n] = (cn, bool(entries_e), bool(entries_a), bool(text_entry), len(groups), len(entries_e),
                          len(entries_a), ct.any_attr)
        # forward declarations must precede field tables that point at types: emit them first
        fwd = ['static const ge_xml_ctype_t ct_%s;' % self.ctype_name(n) for n in names]
        for n in names:
            cn, he, ha, ht, ng, ne, na, anyattr = layouts[n]
            ct = self.ctypes[n]
            type_tables.append('static const ge_xml_ctype_t ct_%s = { %s, sizeof(%s_t), %s, %d, %s, %d, %s, %s, %d, %s, %s, %s };' % (
                cn, cstr(n), cn, 'ct_%s_elems' % cn if he else 'NULL', ne, 'ct_%s_attrs' % cn if ha else 'NULL', na,
                '&ct_%s_text' % cn if ht else 'NULL', 'ct_%s_groups' % cn if ng else 'NULL', ng,
                'true' if anyattr else 'false', '&ct_%s' % self.ctype_name(ct.base) if ct.base else 'NULL',
                'true' if ct.abstract else 'false'))
        stypes_out = []
        # union members first so that they are defined before use
        order = []

        def visit(t):
            if t in order:
                return
            st = self.resolve(t)
            for m in st.members or []:
                visit(m)
            order.append(t)
        for t in list(self.used_stypes):
            visit(t)
        for t in order:
            self.emit_stype(stypes_out, t)
        roots = sorted(self.roots, key=lambda r: (self.split(r[0])[1], r[0]))
        rtab = ['{ %s, %s, &ct_%s }' % (cstr(self.split(qn)[1]), self.ns_of(qn), self.ctype_name(t)) for qn, t in roots]
        # root index enum and typedef aliases named after the root elements
        up = self.cprefix.upper()
        h.append('/* Index of each root element in ge_xml_schema_%s.roots. */' % self.sym)
        h.append('enum {')
        for i, (qn, t) in enumerate(roots):
            pfx, local = self.split(qn)
            nm = local if pfx == self.cprefix else '%s_%s' % (pfx, local)
            h.append('    %s_ROOT_%s = %d,' % (up, ident(nm), i))
        h.append('    %s_ROOT_COUNT_ = %d' % (up, len(roots)))
        h.append('};')
        h.append('')
        h.append('/* Index of each complex type in ge_xml_schema_%s.types (sorted by name). */' % self.sym)
        h.append('enum {')
        for i, n in enumerate(names):
            h.append('    %s_TYPE_%s = %d,' % (up, self.ctype_name(n)[len(self.cprefix) + 1:], i))
        h.append('    %s_TYPE_COUNT_ = %d' % (up, len(names)))
        h.append('};')
        h.append('')
        taken = {self.ctype_name(n) for n in names}
        for qn, t in roots:
            alias = self.ctype_name(qn)
            if alias not in taken:
                taken.add(alias)
                h.append('typedef %s_t %s_t; /* element %s */' % (self.ctype_name(t), alias, qn))
        h += ['', '#ifdef __cplusplus', '}', '#endif', '#endif', '']
        def uris(seq):
            return ', '.join(cstr(u) if u else 'NULL' for u in seq)
        nsp = ', '.join(cstr(p) for p, _, _ in self.ns)
        has_alt = any(a for _, _, a in self.ns)
        tail = (['extern const ge_xml_schema_t ge_xml_schema_%s_alt;' % self.sym] if has_alt else []) + ['static const char *const ns_uri[] = { %s };' % uris(u for _, u, _ in self.ns),
                'static const char *const ns_alt[] = { %s };' % uris(a for _, _, a in self.ns),
                'static const char *const ns_prefix[] = { %s };' % nsp,
                'static const ge_xml_root_t roots[] = {\n    %s\n};' % ',\n    '.join(rtab),
                'static const ge_xml_ctype_t *const types[] = {\n    %s\n};' % ',\n    '.join('&ct_%s' % self.ctype_name(n) for n in names),
                'const ge_xml_schema_t ge_xml_schema_%s = { %s, ns_uri, ns_prefix, %d, roots, %d, types, %d, ns_alt, %s };' % (
                    self.sym, cstr(self.name), len(self.ns), len(roots), len(names),
                    '&ge_xml_schema_%s_alt' % self.sym if has_alt else 'NULL')]
        if has_alt:
            # the same tables writing the alternative URIs (and taking the default ones as theirs)
            tail += ['static const char *const alt_ns_uri[] = { %s };' % uris(a or u for _, u, a in self.ns),
                     'static const char *const alt_ns_alt[] = { %s };' % uris(u if a else None for _, u, a in self.ns),
                     'const ge_xml_schema_t ge_xml_schema_%s_alt = { %s, alt_ns_uri, ns_prefix, %d, roots, %d, types, %d, alt_ns_alt, &ge_xml_schema_%s };' % (
                         self.sym, cstr(self.name), len(self.ns), len(roots), len(names), self.sym)]
        body = c[:8] + fwd + [''] + stypes_out + [''] + c[8:] + [''] + type_tables + [''] + tail
        write(hpath, '\n'.join(h))
        write(cpath, '\n'.join(body) + '\n')


def write(path, text):
    tmp = path + '.tmp'
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 4:
        sys.stderr.write('usage: gen_codec.py SCHEMA-FILE HEADER TABLES\n')
        return 2
    try:
        Gen(sys.argv[1]).run(sys.argv[2], sys.argv[3])
    except GenError as e:
        sys.stderr.write('gen_codec: %s\n' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
