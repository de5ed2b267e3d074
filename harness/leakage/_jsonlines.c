/* JSON Lines, a block at a time: the common case of the scan's input parsed in C, everything else left to
 * the exact per-record reader (harness/leakage/readers.py: orjson, then fields.record_texts).
 *
 * Why: per-record Python (split a line, orjson.loads, walk the dict, build a record, account for it) cost
 * about two thirds of a scan's time once the hashing was compiled (docs/scan.md). A web-corpus line is
 * almost always a flat object ({"url": ..., "text": ...}); this parser reads such lines in one pass and
 * writes the strings the scan would read straight into the batch buffer.
 *
 * The contract, which tests/leakage/test_jsonlines.py checks on arbitrary lines (hypothesis) against
 * orjson + record_texts + normalize.fold_bytes: a line is FAST only when it is a valid JSON object whose
 * texts this parser can reproduce exactly: then its texts are, in order, exactly the strings record_texts
 * returns (the same `min_chars` rule), and the probe buffer holds for each the same words as fold_bytes.
 * Anything else is SLOW and goes to the per-record reader unchanged: escapes it cannot reproduce (lone
 * surrogates), invalid UTF-8 (repaired there), syntax errors (malformed_json there), numbers that orjson
 * might reject (exponents, over 18 integer digits), duplicate keys (a dict keeps the first place and the
 * last value), keys with escapes, nesting deeper than 64, strings inside nested values (record_texts
 * names them by path), no string at all (no_text) or no requested field (missing_field), a text over
 * `max_text` bytes (cut into pieces there), and any line that is not an object.
 *
 * parse_jsonl(block, keys, min_chars, max_line, max_text, sample_every, table)
 *     -> (probe, raw, lines, texts, raw_at, rec_hash)
 *   block: complete lines (each ending with b"\n", except perhaps the last)
 *   keys: None (every top-level string, as with no --field) or a tuple of distinct top-level keys (bytes),
 *         in --field order
 *   probe: the texts of FAST lines, each followed by b"\n"; the UTF-8 of each string, except that texts
 *          whose only non-ASCII characters are common separators (normalize.COMMON_SEPARATORS) have those
 *          blanked (as many spaces as bytes: the same words as fold_bytes gives)
 *   sample_every: for --profile (0: no profile): each FAST line's record text (its strings' UTF-8 joined
 *        by b"\n", the text profile.CorpusProfile measures) is hashed with XXH3-64 (rec_hash, one uint64
 *        per line, 0 for other lines); for the records whose hash is 0 mod sample_every and whose probe
 *        bytes were folded, raw keeps the text as it was, and raw_at (int64 per line) says where (-1: the
 *        probe holds it as it is, or it is not sampled); else raw, raw_at and rec_hash are None
 *   table: fold non-ASCII text with the generated table (_foldtable.h), else only common separators
 *   lines: int64 rows (start, end, status, n_texts): byte range in block without the newline; status
 *          0 FAST, 1 BLANK, 2 SLOW, 3 TOO_LARGE (over max_line bytes)
 *   texts: int64 rows (start, end, flag, 0) in probe, in record order: flag 0 ASCII, 1 folded here
 *          (separators blanked byte for byte, letters lower-cased in place), 2 other non-ASCII (left as
 *          UTF-8: the caller folds those with normalize.fold_bytes)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "_foldtable.h"
#define XXH_INLINE_ALL
#include "vendor/xxhash.h"

enum { LINE_FAST = 0, LINE_BLANK = 1, LINE_SLOW = 2, LINE_TOO_LARGE = 3 };
enum { TEXT_ASCII = 0, TEXT_FOLDED = 1, TEXT_OTHER = 2 };
enum { CP_OTHER = 0, CP_SEP = 1, CP_KEEP = 2, CP_LOWER = 3 }; /* scripts/gen_fold_table.py */
#define MAX_KEYS 64   /* members of a top-level object checked for duplicates; more: SLOW */
#define MAX_DEPTH 64  /* nesting; deeper: SLOW */
#define MAX_FIELDS 32 /* --field keys */

/* normalize.COMMON_SEPARATORS, as code points (tests hold the two lists equal). */
static const uint32_t SEPARATORS[] = {0x2019, 0x2018, 0x201C, 0x201D, 0x2014, 0x2013, 0x2026, 0x00A0,
                                      0x2022, 0x00AB, 0x00BB, 0x00B7, 0x2032, 0x2033, 0x2010, 0x2011,
                                      0x2012, 0x2039, 0x203A, 0x00AD, 0x200B, 0x3000, 0xFEFF, 0x00A9,
                                      0x00AE, 0x00B0, 0x20AC, 0x00A3};
#define N_SEPARATORS (sizeof(SEPARATORS) / sizeof(SEPARATORS[0]))

static inline int is_separator(uint32_t cp) {
    for (size_t i = 0; i < N_SEPARATORS; i++)
        if (SEPARATORS[i] == cp) return 1;
    return 0;
}

static uint8_t BMP_CLASS[0x10000]; /* the fold table's class of each BMP code point; filled at import */

void fold_init(void) {
    for (int r = 0; r < FOLD_RUNS; r++) {
        uint32_t end = r + 1 < FOLD_RUNS ? FOLD_RUN_START[r + 1] : 0x110000;
        for (uint32_t cp = FOLD_RUN_START[r]; cp < end && cp < 0x10000; cp++) BMP_CLASS[cp] = FOLD_RUN_CLASS[r];
    }
}

/* The class of a non-ASCII code point: from the table (`table`: the running Python has its Unicode
 * version), else only the common separators are folded here. */
static inline int cp_class(uint32_t cp, int table) {
    if (!table) return is_separator(cp) ? CP_SEP : CP_OTHER;
    if (cp < 0x10000) return BMP_CLASS[cp];
    int lo = 0, hi = FOLD_RUNS - 1; /* the last run starting at or before cp */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (FOLD_RUN_START[mid] <= cp)
            lo = mid;
        else
            hi = mid - 1;
    }
    return FOLD_RUN_CLASS[lo];
}

static uint32_t lower_bytes(uint32_t cp) { /* the packed UTF-8 replacement of a CP_LOWER code point */
    int lo = 0, hi = FOLD_LOWERS - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (FOLD_LOWER_CP[mid] == cp) return FOLD_LOWER_TO[mid];
        if (FOLD_LOWER_CP[mid] < cp)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0; /* not reached: the table lists every CP_LOWER code point */
}

typedef struct {
    int64_t *v;
    Py_ssize_t len, cap; /* in int64 values */
} rows_t;

static int rows_push(rows_t *r, int64_t a, int64_t b, int64_t c, int64_t d) {
    if (r->len + 4 > r->cap) {
        Py_ssize_t cap = r->cap ? 2 * r->cap : 4096;
        int64_t *v = realloc(r->v, cap * sizeof(int64_t));
        if (!v) return -1;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->len++] = a;
    r->v[r->len++] = b;
    r->v[r->len++] = c;
    r->v[r->len++] = d;
    return 0;
}

typedef struct { /* what parse_string saw */
    int64_t chars_ascii; /* decoded bytes (= characters when the string is ASCII) */
    int ascii, other, escaped, table;
} str_t;

static inline int hex4(const uint8_t *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of a valid (strict) UTF-8 sequence at p (p < end, *p >= 0x80) and its code point; 0 if invalid. */
static inline int utf8_seq(const uint8_t *p, const uint8_t *end, uint32_t *cp) {
    uint8_t c = p[0];
    Py_ssize_t room = end - p;
    if (c >= 0xC2 && c <= 0xDF) {
        if (room < 2 || (p[1] & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (room < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && p[1] > 0x9F) return 0; /* surrogate */
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (room < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && p[1] > 0x8F) return 0; /* over U+10FFFF */
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
              (p[3] & 0x3F);
        return 4;
    }
    return 0;
}

static inline int put_utf8(uint8_t *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static inline void note_cp(str_t *s, uint32_t cp) {
    s->ascii = 0;
    if (cp_class(cp, s->table) == CP_OTHER) s->other = 1;
}

/* A JSON string at *pp (its opening quote): validated, and decoded to `out` unless out is NULL.
 * `limit` is the end of the readable buffer (16-byte loads stop before it); `end` the end of the line.
 * Returns the decoded length, or -1 for anything this parser leaves to orjson. */
static Py_ssize_t parse_string(const uint8_t **pp, const uint8_t *end, const uint8_t *limit, uint8_t *out,
                               str_t *s) {
    const uint8_t *p = *pp + 1;
    uint8_t *o = out;
    s->ascii = 1;
    s->other = s->escaped = 0;
    for (;;) {
#if defined(__SSE2__)
        while (p + 16 <= limit && p + 16 <= end) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            __m128i special = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))); /* signed: controls and bytes >= 0x80 */
            unsigned m = (unsigned)_mm_movemask_epi8(special);
            if (out) _mm_storeu_si128((__m128i *)o, v);
            if (!m) {
                p += 16;
                if (out) o += 16;
                continue;
            }
            unsigned k = (unsigned)__builtin_ctz(m);
            p += k;
            if (out) o += k;
            break;
        }
#endif
        if (p >= end) return -1; /* no closing quote on this line */
        uint8_t c = *p;
        if (c == '"') {
            *pp = p + 1;
            Py_ssize_t n = out ? o - out : 0;
            s->chars_ascii = n;
            return n;
        }
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            if (out) *o++ = c;
            p++;
            continue;
        }
        if (c < 0x20) return -1; /* a raw control character: not JSON */
        if (c >= 0x80) {
            uint32_t cp;
            int len = utf8_seq(p, end, &cp);
            if (!len) return -1; /* invalid UTF-8: repaired by the per-record reader */
            note_cp(s, cp);
            if (out) {
                memcpy(o, p, (size_t)len);
                o += len;
            }
            p += len;
            continue;
        }
        /* an escape */
        s->escaped = 1;
        if (p + 1 >= end) return -1;
        uint8_t e = p[1];
        uint8_t lit;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': lit = 0; break;
        default: return -1;
        }
        if (e != 'u') {
            if (out) *o++ = lit;
            p += 2;
            continue;
        }
        uint32_t cp;
        if (end - p < 6 || hex4(p + 2, &cp)) return -1;
        p += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* a lone low surrogate: orjson's call */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp >= 0x80) note_cp(s, cp);
        if (out) o += put_utf8(o, cp);
    }
}

static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return p;
}

/* A number orjson surely reads the same way: -?(0|[1-9][0-9]{0,17})(\.[0-9]+)?, no exponent. */
static const uint8_t *parse_number(const uint8_t *p, const uint8_t *end) {
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        const uint8_t *start = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p - start > 18) return NULL;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        const uint8_t *start = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == start) return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) return NULL;
    return p;
}

/* Any JSON value at p, validated and skipped; *has_string set when it holds a string value anywhere.
 * Returns the position after it, or NULL (SLOW). */
static const uint8_t *skip_value(const uint8_t *p, const uint8_t *end, const uint8_t *limit, int depth,
                                 int *has_string) {
    str_t s;
    s.table = 0; /* validation only */
    if (p >= end) return NULL;
    switch (*p) {
    case '"':
        *has_string = 1;
        return parse_string(&p, end, limit, NULL, &s) < 0 ? NULL : p;
    case '{':
    case '[': {
        if (depth >= MAX_DEPTH) return NULL;
        uint8_t close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = skip_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (object) {
                if (p >= end || *p != '"' || parse_string(&p, end, limit, NULL, &s) < 0) return NULL;
                p = skip_ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p = skip_ws(p + 1, end);
            }
            p = skip_value(p, end, limit, depth + 1, has_string);
            if (!p) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p = skip_ws(p + 1, end);
        }
    }
    case 't':
        return end - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
    case 'f':
        return end - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
    case 'n':
        return end - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
    default:
        return parse_number(p, end);
    }
}

typedef struct {
    const uint8_t *block_end;
    Py_buffer keys[MAX_FIELDS];
    Py_ssize_t n_keys; /* -1: every top-level string (no --field) */
    Py_ssize_t min_chars, max_text;
    int table; /* fold non-ASCII text with the generated table */
    uint8_t *probe; /* output */
    Py_ssize_t out; /* bytes written to probe */
    rows_t texts;
} parser_t;

typedef struct {
    int64_t start, end, flag, field;
} text_t;

/* Fold the non-ASCII characters of [p, end) (valid UTF-8, none of class OTHER) in place: separators
 * to spaces (byte for byte), LOWER characters to their replacement of the same length. */
static void fold_in_place(uint8_t *p, uint8_t *end, int table) {
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        uint32_t cp;
        int len = utf8_seq(p, end, &cp);
        if (!len) { /* not reached: the string was validated */
            p++;
            continue;
        }
        int k = cp_class(cp, table);
        if (k == CP_SEP) {
            memset(p, ' ', (size_t)len);
        } else if (k == CP_LOWER) {
            uint32_t to = lower_bytes(cp);
            for (int i = 0; i < len; i++) p[i] = (uint8_t)(to >> (8 * i));
        }
        p += len;
    }
}

/* One line [p, end): its status; the texts of a FAST line are appended to ps->texts and ps->probe. */
static int parse_line(parser_t *ps, const uint8_t *p, const uint8_t *end) {
    const uint8_t *limit = ps->block_end;
    Py_ssize_t out0 = ps->out, rows0 = ps->texts.len;
    const uint8_t *keys[MAX_KEYS];
    Py_ssize_t key_len[MAX_KEYS];
    int n_members = 0, present = 0;
    text_t found[MAX_KEYS];
    int n_found = 0, sorted = 1;
    p = skip_ws(p, end);
    if (p >= end || *p != '{') goto slow;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        goto closed;
    }
    for (;;) {
        str_t s;
        s.table = ps->table;
        if (p >= end || *p != '"') goto slow;
        const uint8_t *key = p + 1;
        if (parse_string(&p, end, limit, NULL, &s) < 0 || s.escaped) goto slow;
        Py_ssize_t klen = p - 1 - key;
        if (n_members == MAX_KEYS) goto slow;
        for (int i = 0; i < n_members; i++)
            if (key_len[i] == klen && !memcmp(keys[i], key, (size_t)klen)) goto slow; /* a duplicate key */
        keys[n_members] = key;
        key_len[n_members] = klen;
        n_members++;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') goto slow;
        p = skip_ws(p + 1, end);
        /* which field this member is: its --field position, or its place (every top-level string) */
        Py_ssize_t field = -1;
        if (ps->n_keys < 0) {
            field = n_members - 1;
        } else {
            for (Py_ssize_t f = 0; f < ps->n_keys; f++)
                if (ps->keys[f].len == klen && !memcmp(ps->keys[f].buf, key, (size_t)klen)) {
                    field = f;
                    break;
                }
        }
        if (p < end && *p == '"') {
            if (field < 0) {
                if (parse_string(&p, end, limit, NULL, &s) < 0) goto slow;
            } else {
                Py_ssize_t at = ps->out;
                Py_ssize_t n = parse_string(&p, end, limit, ps->probe + at, &s);
                if (n < 0) goto slow;
                present = 1;
                if (!s.ascii || n >= ps->min_chars) { /* fields.record_texts' rule */
                    if (n > ps->max_text) goto slow;  /* cut into pieces by the per-record reader */
                    int flag = s.ascii ? TEXT_ASCII : (s.other ? TEXT_OTHER : TEXT_FOLDED);
                    if (n_found && found[n_found - 1].field > field) sorted = 0;
                    found[n_found++] = (text_t){at, at + n, flag, field};
                    ps->out = at + n;
                    ps->probe[ps->out++] = '\n';
                }
            }
        } else {
            int has_string = 0;
            p = skip_value(p, end, limit, 1, &has_string);
            if (!p) goto slow;
            if (has_string && field >= 0) goto slow; /* strings under a path: named by record_texts */
        }
        p = skip_ws(p, end);
        if (p >= end) goto slow;
        if (*p == '}') {
            p++;
            break;
        }
        if (*p != ',') goto slow;
        p = skip_ws(p + 1, end);
    }
closed:
    if (skip_ws(p, end) != end) goto slow; /* content after the object */
    if (!present) goto slow;               /* no_text / missing_field: the per-record reader says which */
    if (!sorted) { /* --field order differs from the line's order: rewrite the line's texts in field order */
        for (int i = 1; i < n_found; i++) /* insertion sort by field (fields are distinct) */
            for (int j = i; j > 0 && found[j - 1].field > found[j].field; j--) {
                text_t t = found[j];
                found[j] = found[j - 1];
                found[j - 1] = t;
            }
        Py_ssize_t total = ps->out - out0;
        uint8_t *tmp = malloc((size_t)total + 1);
        if (!tmp) return -1;
        Py_ssize_t w = 0;
        for (int i = 0; i < n_found; i++) {
            Py_ssize_t len = found[i].end - found[i].start;
            memcpy(tmp + w, ps->probe + found[i].start, (size_t)len);
            tmp[w + len] = '\n';
            found[i].start = out0 + w;
            found[i].end = out0 + w + len;
            w += len + 1;
        }
        memcpy(ps->probe + out0, tmp, (size_t)total);
        free(tmp);
    }
    for (int i = 0; i < n_found; i++)
        if (rows_push(&ps->texts, found[i].start, found[i].end, found[i].flag, 0)) return -1;
    return LINE_FAST;
slow:
    ps->out = out0;
    ps->texts.len = rows0;
    return LINE_SLOW;
}

static inline int is_blank(const uint8_t *p, const uint8_t *end) { /* bytes.strip()'s whitespace only */
    for (; p < end; p++)
        if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\x0b' || *p == '\x0c')) return 0;
    return 1;
}

PyObject *parse_jsonl(PyObject *self, PyObject *args) {
    Py_buffer block = {0};
    PyObject *keys_obj;
    Py_ssize_t min_chars, max_line, max_text;
    Py_ssize_t every;
    int table;
    if (!PyArg_ParseTuple(args, "y*Onnnnp", &block, &keys_obj, &min_chars, &max_line, &max_text, &every, &table))
        return NULL;
    int want_raw = every > 0;
    parser_t ps;
    memset(&ps, 0, sizeof(ps));
    rows_t lines = {0};
    uint8_t *raw = NULL;
    Py_ssize_t raw_len = 0;
    int64_t *raw_at = NULL;
    uint64_t *rec_hash = NULL;
    Py_ssize_t raw_at_len = 0, raw_at_cap = 0;
    PyObject *result = NULL;
    ps.n_keys = -1;
    if (keys_obj != Py_None) {
        if (!PyTuple_Check(keys_obj) || PyTuple_GET_SIZE(keys_obj) > MAX_FIELDS) {
            PyErr_SetString(PyExc_ValueError, "keys must be None or a tuple of at most 32 bytes objects");
            PyBuffer_Release(&block);
            return NULL;
        }
        ps.n_keys = 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys_obj); i++) {
            if (PyObject_GetBuffer(PyTuple_GET_ITEM(keys_obj, i), &ps.keys[i], PyBUF_SIMPLE)) goto done;
            ps.n_keys++;
        }
    }
    ps.min_chars = min_chars;
    ps.max_text = max_text;
    ps.table = table;
    const uint8_t *buf = (const uint8_t *)block.buf, *bend = buf + block.len;
    ps.block_end = bend;
    ps.probe = malloc((size_t)block.len + 64);
    if (want_raw) raw = malloc((size_t)block.len + 64);
    if (!ps.probe || (want_raw && !raw)) {
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *p = buf;
    while (p < bend) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(bend - p));
        const uint8_t *end = nl ? nl : bend;
        Py_ssize_t rows0 = ps.texts.len, out0 = ps.out;
        int status;
        if (end - p > max_line)
            status = LINE_TOO_LARGE;
        else if (is_blank(p, end))
            status = LINE_BLANK;
        else
            status = parse_line(&ps, p, end);
        if (status < 0 || rows_push(&lines, p - buf, end - buf, status, (ps.texts.len - rows0) / 4)) {
            failed = 1;
            break;
        }
        int64_t at = -1;
        uint64_t hash = 0;
        if (status == LINE_FAST) {
            int folded = 0;
            for (Py_ssize_t r = rows0; r < ps.texts.len; r += 4) folded |= ps.texts.v[r + 2] == TEXT_FOLDED;
            if (raw) { /* --profile: the record's text, before any folding: its strings joined by a newline */
                Py_ssize_t len = ps.out > out0 ? ps.out - out0 - 1 : 0;
                hash = XXH3_64bits(ps.probe + out0, (size_t)len);
                if (folded && hash % (uint64_t)every == 0) { /* sampled: kept as it is for compression */
                    at = raw_len;
                    memcpy(raw + raw_len, ps.probe + out0, (size_t)len);
                    raw_len += len;
                }
            }
            for (Py_ssize_t r = rows0; folded && r < ps.texts.len; r += 4)
                if (ps.texts.v[r + 2] == TEXT_FOLDED)
                    fold_in_place(ps.probe + ps.texts.v[r], ps.probe + ps.texts.v[r + 1], table);
        }
        if (raw) {
            if (raw_at_len == raw_at_cap) {
                raw_at_cap = raw_at_cap ? 2 * raw_at_cap : 1024;
                int64_t *grown = realloc(raw_at, raw_at_cap * sizeof(int64_t));
                uint64_t *grown_h = grown ? realloc(rec_hash, raw_at_cap * sizeof(uint64_t)) : NULL;
                if (grown) raw_at = grown;
                if (!grown || !grown_h) {
                    failed = 1;
                    break;
                }
                rec_hash = grown_h;
            }
            rec_hash[raw_at_len] = hash;
            raw_at[raw_at_len++] = at;
        }
        p = end + 1;
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *probe = PyBytes_FromStringAndSize((const char *)ps.probe, ps.out);
    PyObject *rawb = raw ? PyBytes_FromStringAndSize((const char *)raw, raw_len) : (Py_INCREF(Py_None), Py_None);
    PyObject *lb = PyBytes_FromStringAndSize(lines.v ? (const char *)lines.v : "", lines.len * 8);
    PyObject *tb = PyBytes_FromStringAndSize(ps.texts.v ? (const char *)ps.texts.v : "", ps.texts.len * 8);
    PyObject *ab = raw ? PyBytes_FromStringAndSize(raw_at ? (const char *)raw_at : "", raw_at_len * 8)
                       : (Py_INCREF(Py_None), Py_None);
    PyObject *hb = raw ? PyBytes_FromStringAndSize(rec_hash ? (const char *)rec_hash : "", raw_at_len * 8)
                       : (Py_INCREF(Py_None), Py_None);
    if (probe && rawb && lb && tb && ab && hb) result = PyTuple_Pack(6, probe, rawb, lb, tb, ab, hb);
    Py_XDECREF(hb);
    Py_XDECREF(probe);
    Py_XDECREF(rawb);
    Py_XDECREF(lb);
    Py_XDECREF(tb);
    Py_XDECREF(ab);
done:
    free(ps.probe);
    free(raw);
    free(raw_at);
    free(rec_hash);
    free(lines.v);
    free(ps.texts.v);
    for (Py_ssize_t i = 0; i < ps.n_keys; i++) PyBuffer_Release(&ps.keys[i]);
    PyBuffer_Release(&block);
    return result;
}

PyObject *count_lines(PyObject *self, PyObject *args) { /* newlines in buffer[start:end] (memchr) */
    Py_buffer b;
    Py_ssize_t start, end, n = 0;
    if (!PyArg_ParseTuple(args, "y*nn", &b, &start, &end)) return NULL;
    if (start < 0) start = 0;
    if (end > b.len) end = b.len;
    const char *p = (const char *)b.buf + start, *stop = (const char *)b.buf + end;
    while (p < stop && (p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
        n++;
        p++;
    }
    PyBuffer_Release(&b);
    return PyLong_FromSsize_t(n);
}

PyObject *fold_table(PyObject *self, PyObject *unused) { /* (Unicode version, run starts, run classes) */
    PyObject *starts = PyList_New(FOLD_RUNS), *classes = PyList_New(FOLD_RUNS);
    if (!starts || !classes) {
        Py_XDECREF(starts);
        Py_XDECREF(classes);
        return NULL;
    }
    for (int r = 0; r < FOLD_RUNS; r++) {
        PyList_SET_ITEM(starts, r, PyLong_FromUnsignedLong(FOLD_RUN_START[r]));
        PyList_SET_ITEM(classes, r, PyLong_FromLong(FOLD_RUN_CLASS[r]));
    }
    return Py_BuildValue("(sNN)", FOLD_UNICODE_VERSION, starts, classes);
}

PyObject *separators(PyObject *self, PyObject *unused) {
    PyObject *out = PyList_New(N_SEPARATORS);
    if (!out) return NULL;
    for (size_t i = 0; i < N_SEPARATORS; i++) PyList_SET_ITEM(out, i, PyLong_FromUnsignedLong(SEPARATORS[i]));
    return out;
}
